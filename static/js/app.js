// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // Language switcher: change on select, no button needed when JS runs.
  document.querySelectorAll("select.js-autosubmit").forEach(function (select) {
    var form = select.form;
    form.querySelectorAll(".js-hide-when-auto").forEach(function (el) { el.hidden = true; });
    select.addEventListener("change", function () { form.submit(); });
  });

  // The navigation sits in a <details> "Menu" on phones; on wide screens it must always
  // show. CSS does it in current browsers (::details-content); this covers older ones.
  var menu = document.querySelector("details.menu");
  if (menu && window.matchMedia) {
    var wide = window.matchMedia("(min-width: 48rem)");
    var syncMenu = function () { if (wide.matches) { menu.open = true; } };
    syncMenu();
    if (wide.addEventListener) { wide.addEventListener("change", syncMenu); }
  }

  // Buttons that ask before doing something that cannot be undone.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = button && button.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  // Forms that must not be sent twice (checkout, hand-over): disable on first submit.
  document.querySelectorAll("form.js-once").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) {
        window.setTimeout(function () { b.disabled = true; }, 0);
      });
    });
  });

  // Producer fields on the registration form only when "I sell" is chosen.
  var producerFields = document.querySelector(".producer-fields");
  if (producerFields) {
    var radios = document.querySelectorAll("input[name=account_type]");
    var sync = function () {
      var checked = document.querySelector("input[name=account_type]:checked");
      producerFields.hidden = !(checked && checked.value === "producer");
    };
    radios.forEach(function (r) { r.addEventListener("change", sync); });
    sync();
  }
})();

// Schedule form: show only the fields the chosen kind of rule uses (all are shown without JS).
(function () {
  "use strict";
  var form = document.querySelector("form.schedule-form");
  if (!form) { return; }
  var radios = form.querySelectorAll("input[name=kind]");
  var sync = function () {
    var checked = form.querySelector("input[name=kind]:checked");
    var kind = checked ? checked.value : "weekly";
    form.querySelectorAll("[data-kinds]").forEach(function (el) {
      el.hidden = el.getAttribute("data-kinds").split(" ").indexOf(kind) === -1;
    });
  };
  radios.forEach(function (r) { r.addEventListener("change", sync); });
  sync();
})();

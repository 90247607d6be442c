// Pages opened from an emailed link (password reset, email confirmation). The link's secret
// comes after `#`: browsers never send that part to a server, so it is in no access log and
// no Referer. This script moves it into the form and out of the address bar and history.
(function () {
  "use strict";
  var field = document.querySelector("input[data-token-from-fragment]");
  if (!field) { return; }
  var token = window.location.hash.replace(/^#/, "");
  if (token) {
    field.value = decodeURIComponent(token);
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  var form = field.form;
  var waiting = document.querySelector("[data-token-missing]");
  if (waiting) { waiting.hidden = Boolean(field.value); }
  if (form && field.value && form.hasAttribute("data-submit-with-token")) {
    // Not form.submit(): the form's button is named "submit" and would hide the method.
    HTMLFormElement.prototype.submit.call(form);
  }
})();

// Order pages: small enhancements; every page works without this file.
(function () {
  "use strict";

  // The pick list prints from the browser's menu too; the button only saves a step.
  document.querySelectorAll("button.js-print").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();

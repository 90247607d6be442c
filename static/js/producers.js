// The producer's product form: show the stock quantity only for standing stock.
(function () {
  "use strict";
  var field = document.querySelector(".js-inventory-field");
  if (!field) { return; }
  var radios = document.querySelectorAll("input[name=stock_mode]");
  var sync = function () {
    var checked = document.querySelector("input[name=stock_mode]:checked");
    field.hidden = !(checked && checked.value === "inventory");
  };
  radios.forEach(function (r) { r.addEventListener("change", sync); });
  sync();
})();

// Trust pages: a live "characters left" count under length-limited text areas.
// Without JavaScript the maxlength attribute and the server's check still hold.
(function () {
  "use strict";
  document.querySelectorAll("textarea[data-counter][maxlength]").forEach(function (area) {
    var max = parseInt(area.getAttribute("maxlength"), 10);
    var counter = document.createElement("p");
    counter.className = "hint char-counter";
    counter.setAttribute("aria-live", "polite");
    area.insertAdjacentElement("afterend", counter);
    var update = function () {
      counter.textContent = (max - area.value.length) + " / " + max;
    };
    area.addEventListener("input", update);
    update();
  });
})();

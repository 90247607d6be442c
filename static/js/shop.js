// The shop on a phone: add to the basket without leaving the product page, +/− buttons for the
// quantity, the price of the chosen market day. Every page works without this file.
(function () {
  "use strict";

  var badge = document.getElementById("basket-badge");

  function setBadge(count, label) {
    if (!badge) { return; }
    // The badge shows the number; a screen reader hears "Basket: N items" in the plural the
    // server chose for N (Russian has three).
    badge.querySelector(".basket-badge-count").textContent = String(count);
    if (label) { badge.querySelector(".basket-badge-label").textContent = label; }
    badge.hidden = count <= 0;
    badge.classList.remove("bump");
    void badge.offsetWidth; // restart the animation
    badge.classList.add("bump");
  }

  function say(box, ok, message, basketUrl, basketLabel) {
    box.textContent = message || "";
    box.className = "add-result " + (ok ? "ok" : "error");
    if (ok && basketUrl) {
      box.appendChild(document.createTextNode(" "));
      var link = document.createElement("a");
      link.href = basketUrl;
      link.textContent = basketLabel;
      box.appendChild(link);
    }
  }

  document.querySelectorAll("form.js-add-to-basket").forEach(function (form) {
    var box = form.querySelector(".add-result");
    var button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", function (event) {
      if (!window.fetch || !window.FormData) { return; }
      event.preventDefault();
      if (button.disabled) { return; } // one add at a time: a double tap adds once
      button.disabled = true;
      fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        return response.json().then(function (data) { return data; }, function () { return null; });
      }).then(function (data) {
        if (!data) { form.submit(); return; } // not our answer (an error page): do it the plain way
        say(box, data.ok, data.message, data.ok ? data.basket_url : null, form.getAttribute("data-basket-label") || "");
        if (typeof data.count === "number") { setBadge(data.count, data.count_label); }
      }, function () {
        form.submit(); // offline or the request failed: the plain form still works
      }).then(function () { button.disabled = false; });
    });
  });

  // − and + beside the quantity: bigger targets than the keyboard for "2 jars".
  document.querySelectorAll("input.js-stepper").forEach(function (input) {
    var step = parseFloat(input.getAttribute("data-step")) || 1;
    var wrap = document.createElement("div");
    wrap.className = "stepper";
    function button(label, text, delta) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "button";
      b.textContent = text;
      b.setAttribute("aria-label", label);
      b.addEventListener("click", function () {
        var value = parseFloat((input.value || "0").replace(",", ".")) || 0;
        var next = Math.max(step, Math.round((value + delta) * 1000) / 1000);
        input.value = String(next);
      });
      return b;
    }
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(button(input.getAttribute("data-less-label") || "−", "−", -step));
    wrap.appendChild(input);
    wrap.appendChild(button(input.getAttribute("data-more-label") || "+", "+", step));
  });

  // The price shown at the top follows the market day chosen (a day may have its own price).
  var price = document.querySelector(".product-price .price");
  document.querySelectorAll(".day-chooser input[type=radio]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      var text = radio.getAttribute("data-price");
      if (price && text && price.firstChild && price.firstChild.nodeType === 3) { price.firstChild.textContent = text; }
    });
  });
})();

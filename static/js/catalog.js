// Catalog enhancements; every catalog page works without this file.
(function () {
  "use strict";

  // The filter form leaves out empty fields, so a shared search URL holds only what is set.
  document.querySelectorAll("form.catalog-filters").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("input, select").forEach(function (field) {
        if (field.name && field.type !== "checkbox" && field.value === "") {
          field.disabled = true;
        }
      });
      // A back navigation restores the page from cache: give the fields back.
      window.setTimeout(function () {
        form.querySelectorAll("input, select").forEach(function (field) { field.disabled = false; });
      }, 0);
    });
  });

  // The market page shows its address as text and a link to OpenStreetMap; this adds the
  // map itself when Leaflet is loaded (tiles that cannot be fetched leave a grey map).
  var el = document.getElementById("market-map");
  if (!el || typeof window.L === "undefined") {
    return;
  }
  var lat = parseFloat(el.getAttribute("data-lat"));
  var lon = parseFloat(el.getAttribute("data-lon"));
  if (!isFinite(lat) || !isFinite(lon)) {
    return;
  }
  el.classList.add("market-map-live");
  var map = window.L.map(el, { scrollWheelZoom: false }).setView([lat, lon], 16);
  window.L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
    maxZoom: 19,
    attribution: '<a href="https://www.openstreetmap.org/copyright">' +
      (el.getAttribute("data-attribution") || "© OpenStreetMap contributors").replace(/[<>&"]/g, "") + "</a>"
  }).addTo(map);
  var label = el.getAttribute("data-label") || "";
  var marker = window.L.marker([lat, lon], { title: label, alt: label }).addTo(map);
  if (label) {
    // Text, not HTML: the market's name is user input.
    var popup = document.createElement("span");
    popup.textContent = label;
    marker.bindPopup(popup);
  }
})();

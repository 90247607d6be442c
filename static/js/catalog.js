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
  if (!el) {
    return;
  }
  // Leaflet (150 KB) is loaded when the visitor asks for the map, not with every market page.
  if (typeof window.L === "undefined") {
    var show = document.getElementById("show-map");
    if (!show) {
      return;
    }
    show.hidden = false;
    show.addEventListener("click", function () {
      show.disabled = true;
      // Drawn once both have loaded: Leaflet finds its marker pictures through its stylesheet,
      // and a script that loaded first asked for them at a wrong address (404s in a journey).
      var waiting = 2;
      var loaded = function () {
        waiting -= 1;
        if (waiting === 0) { show.hidden = true; drawMap(el); }
      };
      var css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = el.getAttribute("data-leaflet-css");
      css.onload = loaded;
      document.head.appendChild(css);
      var script = document.createElement("script");
      script.src = el.getAttribute("data-leaflet-js");
      script.onload = loaded;
      document.head.appendChild(script);
    });
    return;
  }
  drawMap(el);
})();

function drawMap(el) {
  "use strict";
  var lat = parseFloat(el.getAttribute("data-lat"));
  var lon = parseFloat(el.getAttribute("data-lon"));
  if (!isFinite(lat) || !isFinite(lon)) {
    return;
  }
  el.classList.add("market-map-live");
  // Leaflet's marker pictures lie beside its stylesheet (it guesses wrong when loaded late).
  var css = el.getAttribute("data-leaflet-css") || "";
  var beside = /leaflet\.css(\?.*)?$/;
  if (beside.test(css)) {
    window.L.Icon.Default.imagePath = css.replace(beside, "images/");
  }
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
}

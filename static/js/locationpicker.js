// Location by tapping a map (vendored Leaflet): fills the latitude and longitude fields, which
// stay on the page for typing by hand and for browsers without JavaScript.
(function () {
  "use strict";
  var box = document.querySelector(".js-location-picker");
  if (!box || typeof window.L === "undefined") { return; }
  var latInput = document.getElementById(box.getAttribute("data-lat-input"));
  var lonInput = document.getElementById(box.getAttribute("data-lon-input"));
  if (!latInput || !lonInput) { return; }
  var digits = parseInt(box.getAttribute("data-digits") || "2", 10);
  var status = box.querySelector(".js-location-status");
  var read = function () {
    var lat = parseFloat((latInput.value || "").replace(",", "."));
    var lon = parseFloat((lonInput.value || "").replace(",", "."));
    return isFinite(lat) && isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180 ? [lat, lon] : null;
  };
  var start = read();
  var center = start || [parseFloat(box.getAttribute("data-center-lat")), parseFloat(box.getAttribute("data-center-lon"))];
  box.hidden = false;
  var map = window.L.map(box.querySelector(".map-picker"), { scrollWheelZoom: false }).setView(center, start ? 11 : 5);
  window.L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
    maxZoom: 18,
    attribution: '<a href="https://www.openstreetmap.org/copyright">© OpenStreetMap</a>'
  }).addTo(map);
  var label = box.getAttribute("data-marker-label") || "";
  var marker = start ? window.L.marker(start, { title: label, alt: label }).addTo(map) : null;
  var place = function (lat, lon) {
    if (marker) { marker.setLatLng([lat, lon]); } else { marker = window.L.marker([lat, lon], { title: label, alt: label }).addTo(map); }
  };
  map.on("click", function (event) {
    var point = event.latlng.wrap();
    latInput.value = point.lat.toFixed(digits);
    lonInput.value = point.lng.toFixed(digits);
    place(point.lat, point.lng);
    if (status) { status.textContent = (box.getAttribute("data-chosen") || "") + " " + latInput.value + ", " + lonInput.value; }
  });
  var typed = function () {
    var point = read();
    if (point) { place(point[0], point[1]); map.panTo(point); }
  };
  latInput.addEventListener("change", typed);
  lonInput.addEventListener("change", typed);
})();

// Pickup point: the day's summary refreshes itself, and "Scan QR" reads a pickup code with
// the camera. Every page works without this file (typed code, Refresh link, Print menu).
(function () {
  "use strict";

  // The summary: a small fetch of its part of the page every 20 s, not a reload. Paused
  // while the tab is hidden; a failed fetch (weak connection) keeps what is shown.
  var live = document.getElementById("pickup-live");
  if (live && window.fetch) {
    var url = live.getAttribute("data-refresh-url");
    var busy = false;
    var refresh = function () {
      if (busy || document.hidden) { return; }
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) { if (html !== null) { live.innerHTML = html; } })
        .catch(function () { /* offline for a moment: try again next time */ })
        .then(function () { busy = false; });
    };
    window.setInterval(refresh, 20000);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });
  }

  // Labels print from the browser's menu too; the button only saves a step.
  document.querySelectorAll("button.js-print").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  // Scan QR: the library (375 KB) is loaded only when the button is pressed.
  var scan = document.querySelector("button.js-scan");
  if (!scan || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { return; }
  var form = scan.form;
  var input = form.querySelector("input[name=code]");
  var reader = document.getElementById("qr-reader");
  var message = form.querySelector(".js-scan-message");
  var startLabel = scan.textContent;
  var scanner = null;
  scan.hidden = false;

  var loadLibrary = function () {
    return new Promise(function (resolve, reject) {
      if (window.__Html5QrcodeLibrary__) { resolve(window.__Html5QrcodeLibrary__); return; }
      var script = document.createElement("script");
      script.src = scan.getAttribute("data-library");
      script.onload = function () { resolve(window.__Html5QrcodeLibrary__); };
      script.onerror = reject;
      document.head.appendChild(script);
    });
  };

  // Only a scanner that started can be stopped (the library throws otherwise).
  var running = false;
  var stop = function () {
    var done = Promise.resolve();
    if (scanner && running) {
      try { done = scanner.stop().catch(function () {}); } catch (e) { /* already stopped */ }
    }
    scanner = null;
    running = false;
    return done.then(function () {
      reader.hidden = true;
      scan.textContent = startLabel;
    });
  };

  var fail = function () {
    message.textContent = scan.getAttribute("data-error");
    stop();
    input.focus();
  };

  scan.addEventListener("click", function () {
    if (scanner) { stop(); return; }
    message.textContent = "";
    reader.hidden = false;
    scan.textContent = scan.getAttribute("data-stop-label");
    loadLibrary().then(function (library) {
      scanner = new library.Html5Qrcode("qr-reader");
      return scanner.start({ facingMode: "environment" }, { fps: 10, qrbox: 200 }, function (text) {
        input.value = text.trim();
        stop().then(function () { form.submit(); });
      }).then(function () { running = true; });
    }).catch(fail);
  });
})();

// Group pages: the group's area on a map, and the visit checklist that saves as it is filled in.
// Every page works without this file: the checklist is then a plain form with a Save button
// under each item, and the area is given as numbers.
(function () {
  "use strict";

  // --- The map ---------------------------------------------------------------------------

  function tiles(map, el) {
    window.L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
      maxZoom: 18,
      attribution: '<a href="https://www.openstreetmap.org/copyright">' +
        (el.getAttribute("data-attribution") || "© OpenStreetMap contributors").replace(/[<>&"]/g, "") + "</a>"
    }).addTo(map);
  }

  function zoomFor(km) {
    return km > 120 ? 7 : km > 60 ? 8 : km > 25 ? 9 : km > 10 ? 10 : 11;
  }

  function showArea() {
    var el = document.getElementById("group-map");
    if (!el || typeof window.L === "undefined") { return; }
    var lat = parseFloat(el.getAttribute("data-lat"));
    var lon = parseFloat(el.getAttribute("data-lon"));
    var km = parseFloat(el.getAttribute("data-radius-km")) || 10;
    if (!isFinite(lat) || !isFinite(lon)) { return; }
    el.classList.add("market-map-live");
    var map = window.L.map(el, { scrollWheelZoom: false }).setView([lat, lon], zoomFor(km));
    tiles(map, el);
    window.L.circle([lat, lon], { radius: km * 1000, weight: 2 }).addTo(map);
  }

  function editArea() {
    var el = document.getElementById("group-map-edit");
    if (!el || typeof window.L === "undefined") { return; }
    var form = el.closest("form");
    var latInput = form.querySelector("[name=lat]");
    var lonInput = form.querySelector("[name=lon]");
    var kmInput = form.querySelector("[name=radius_km]");
    var number = function (input) { return parseFloat((input.value || "").replace(",", ".")); };
    el.hidden = false;
    el.classList.add("market-map-live");
    var lat = number(latInput), lon = number(lonInput), km = number(kmInput) || 20;
    var known = isFinite(lat) && isFinite(lon);
    // Without a centre yet, start over Kyrgyzstan and Kazakhstan.
    var map = window.L.map(el, { scrollWheelZoom: false }).setView(known ? [lat, lon] : [45.5, 72.5], known ? zoomFor(km) : 5);
    tiles(map, el);
    var circle = null;
    var draw = function () {
      var a = number(latInput), b = number(lonInput), r = number(kmInput) || 20;
      if (!isFinite(a) || !isFinite(b)) { return; }
      if (circle) { circle.setLatLng([a, b]).setRadius(r * 1000); } else {
        circle = window.L.circle([a, b], { radius: r * 1000, weight: 2 }).addTo(map);
      }
    };
    map.on("click", function (event) {
      latInput.value = event.latlng.lat.toFixed(2);
      lonInput.value = event.latlng.lng.toFixed(2);
      if (!kmInput.value) { kmInput.value = "20"; }
      draw();
    });
    [latInput, lonInput, kmInput].forEach(function (input) { input.addEventListener("change", draw); });
    draw();
  }

  // --- The visit checklist -----------------------------------------------------------------

  function checklist() {
    var form = document.getElementById("visit-form");
    if (!form) { return; }
    var state = document.getElementById("connection-state");
    var progress = document.getElementById("visit-progress");
    var csrf = form.querySelector("input[name=csrf_token]").value;
    var key = "aimak-visit-" + form.getAttribute("data-visit");
    var words = function (name) { return state.getAttribute("data-" + name) || ""; };
    var sending = false, again = false, retryTimer = null, retryDelay = 5000, clearedNow = false;
    var refusedNow = false;  // an answer the server refused for good (the visit closed meanwhile)
    var photos = [];  // photos waiting to be sent: {item, blob, name, key}

    document.querySelectorAll(".js-hide").forEach(function (el) { el.hidden = true; });

    // What is not sent yet lives in localStorage, so a closed tab or a dead battery loses nothing.
    var load = function () {
      try { return JSON.parse(window.localStorage.getItem(key) || "{}") || {}; } catch (e) { return {}; }
    };
    var store = function (queue) {
      try {
        if (Object.keys(queue).length) { window.localStorage.setItem(key, JSON.stringify(queue)); }
        else { window.localStorage.removeItem(key); }
      } catch (e) { /* private mode: the queue still lives in this page */ }
    };
    var queue = load();

    var fieldset = function (item) { return form.querySelector('fieldset[data-item="' + item + '"]'); };
    var read = function (box) {
      var item = box.getAttribute("data-item");
      var checked = box.querySelector('input[name="answer-' + item + '"]:checked');
      var note = box.querySelector('textarea[name="note-' + item + '"]');
      return { answer: checked ? checked.value : "", note: note ? note.value : "" };
    };
    var say = function (box, text, kind) {
      var out = box.querySelector(".item-state");
      out.textContent = text;
      out.className = "item-state" + (kind ? " item-state-" + kind : "");
    };
    var overall = function (text, kind) {
      state.hidden = !text;
      state.textContent = text || "";
      state.className = "connection-state" + (kind ? " connection-state-" + kind : "");
    };
    var count = function () {
      var boxes = form.querySelectorAll("fieldset[data-item]");
      var done = 0;
      boxes.forEach(function (box) { if (read(box).answer) { done += 1; } });
      progress.textContent = words("answered").replace("{done}", done).replace("{total}", boxes.length);
    };

    var remember = function (box) {
      var item = box.getAttribute("data-item");
      var value = read(box);
      value.t = Date.now();
      queue[item] = value;
      store(queue);
      say(box, words("pending"), "pending");
      count();
    };

    var scheduleRetry = function () {
      if (retryTimer) { return; }
      retryTimer = window.setTimeout(function () { retryTimer = null; flush(); }, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 60000);
    };

    var sendAnswer = function (item, value) {
      var box = fieldset(item);
      var body = new FormData();
      body.append("csrf_token", csrf);
      body.append("answer-" + item, value.answer || "");
      body.append("note-" + item, value.note || "");
      return window.fetch(box.getAttribute("data-save-url"), {
        method: "POST", body: body, credentials: "same-origin", headers: { "Accept": "application/json" }
      }).then(function (response) {
        var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        if (response.ok && json) {
          return response.json().then(function (data) {
            if (queue[item] && queue[item].t === value.t) { delete queue[item]; store(queue); }
            say(box, "", "");
            if (data.signatures_cleared) { clearedNow = true; }
            return true;
          });
        }
        if (response.status === 409 && json) {
          // Refused for good (the visit was signed by everyone meanwhile): say why, stop sending it.
          return response.json().then(function (data) {
            if (queue[item] && queue[item].t === value.t) { delete queue[item]; store(queue); }
            say(box, words("refused") + " " + (data.error || ""), "error");
            refusedNow = true;
            return true;
          });
        }
        throw new Error("status " + response.status);
      });
    };

    var sendPhoto = function (photo) {
      var box = fieldset(photo.item);
      var body = new FormData();
      body.append("csrf_token", csrf);
      body.append("upload_key", photo.key);
      body.append("photo", photo.blob, photo.name);
      say(box, words("photo-sending"), "pending");
      return window.fetch(box.getAttribute("data-photo-url"), {
        method: "POST", body: body, credentials: "same-origin", headers: { "Accept": "application/json" }
      }).then(function (response) {
        var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        if (!json && response.status === 413) {
          // Too large for the server even after shrinking: sending it again cannot help.
          photos.splice(photos.indexOf(photo), 1);
          say(box, words("refused") + " " + response.statusText, "error");
          return true;
        }
        if (!json) { throw new Error("status " + response.status); }
        return response.json().then(function (data) {
          photos.splice(photos.indexOf(photo), 1);
          if (!response.ok) { say(box, words("refused") + " " + (data.error || ""), "error"); return true; }
          var row = box.querySelector(".photo-row");
          if (!row.querySelector('[data-photo="' + data.id + '"]')) {
            var li = document.createElement("li");
            li.setAttribute("data-photo", data.id);
            var img = document.createElement("img");
            img.src = data.url;
            img.alt = "";
            li.appendChild(img);
            row.appendChild(li);
          }
          say(box, words("photo-saved"), "ok");
          return true;
        });
      });
    };

    var flush = function () {
      if (sending) { again = true; return; }
      var items = Object.keys(queue);
      if (!items.length && !photos.length) { return; }
      if (navigator.onLine === false) {
        overall(words("offline"), "offline");
        // A photo waits in this page only (answers wait on the phone): the reviewer must keep it open.
        photos.forEach(function (photo) { say(fieldset(photo.item), words("photo-waiting"), "error"); });
        return;
      }
      sending = true;
      overall(words("pending"), "pending");
      var chain = Promise.resolve();
      items.forEach(function (item) {
        var value = queue[item];
        if (!fieldset(item)) { delete queue[item]; store(queue); return; }
        chain = chain.then(function () { return sendAnswer(item, value); });
      });
      photos.slice().forEach(function (photo) { chain = chain.then(function () { return sendPhoto(photo); }); });
      chain.then(function () {
        sending = false;
        retryDelay = 5000;
        if (again || Object.keys(queue).length || photos.length) { again = false; flush(); return; }
        // Never "all saved" when one was refused: the reviewer would leave believing it kept.
        if (refusedNow) { overall(words("some-refused"), "warn"); }
        else { overall(clearedNow ? words("cleared") : words("saved"), clearedNow ? "warn" : "ok"); }
        clearedNow = false;
        refusedNow = false;
      }).catch(function () {
        sending = false;
        again = false;
        Object.keys(queue).forEach(function (item) { if (fieldset(item)) { say(fieldset(item), words("failed"), "error"); } });
        photos.forEach(function (photo) { say(fieldset(photo.item), words("photo-waiting"), "error"); });
        overall(navigator.onLine === false ? words("offline") : words("failed"), "offline");
        scheduleRetry();
      });
    };

    // A phone photo is several megabytes; made 1600 px wide on the phone it is a few hundred
    // kilobytes, which a weak connection can send. Anything that fails sends the original.
    var shrink = function (file) {
      if (!window.createImageBitmap || !file.type || file.type.indexOf("image/") !== 0) { return Promise.resolve(file); }
      return window.createImageBitmap(file).then(function (bitmap) {
        var scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(bitmap.width * scale);
        canvas.height = Math.round(bitmap.height * scale);
        canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        return new Promise(function (resolve) {
          canvas.toBlob(function (blob) { resolve(blob && blob.size < file.size ? blob : file); }, "image/jpeg", 0.82);
        });
      }).catch(function () { return file; });
    };
    var uploadKey = function () {
      if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
      return "k" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
    };

    // Unsent answers from before (a reload, a closed tab) go back into the form and are sent.
    Object.keys(queue).forEach(function (item) {
      var box = fieldset(item);
      if (!box) { delete queue[item]; return; }
      var value = queue[item];
      box.querySelectorAll('input[name="answer-' + item + '"]').forEach(function (radio) {
        radio.checked = radio.value === value.answer;
      });
      var note = box.querySelector('textarea[name="note-' + item + '"]');
      if (note) { note.value = value.note || ""; }
      say(box, words("pending"), "pending");
    });
    store(queue);
    count();

    form.querySelectorAll("fieldset[data-item]").forEach(function (box) {
      var timer = null;
      box.querySelectorAll('input[type=radio]').forEach(function (radio) {
        radio.addEventListener("change", function () { remember(box); flush(); });
      });
      var note = box.querySelector("textarea");
      if (note) {
        note.addEventListener("input", function () {
          remember(box);
          window.clearTimeout(timer);
          timer = window.setTimeout(flush, 1200);
        });
        note.addEventListener("blur", function () { window.clearTimeout(timer); flush(); });
      }
      var input = box.querySelector(".item-photo-input");
      if (input) {
        input.addEventListener("change", function () {
          var file = input.files && input.files[0];
          if (!file) { return; }
          shrink(file).then(function (blob) {
            photos.push({ item: box.getAttribute("data-item"), blob: blob, name: file.name || "photo.jpg", key: uploadKey() });
            input.value = "";
            flush();
          });
        });
      }
    });

    // "Save all" sends what is in the form through the same queue, without leaving the page.
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      form.querySelectorAll("fieldset[data-item]").forEach(function (box) {
        var value = read(box);
        if (value.answer || value.note) { remember(box); }
      });
      flush();
    });

    window.addEventListener("online", function () { retryDelay = 5000; flush(); });
    window.addEventListener("offline", function () { overall(words("offline"), "offline"); });
    window.addEventListener("beforeunload", function (event) {
      // Answers are kept on the phone; photos waiting to be sent are not.
      if (photos.length) { event.preventDefault(); event.returnValue = ""; }
    });
    flush();
  }

  showArea();
  editArea();
  checklist();
})();

// Suggestions as you type in every search box that names its endpoint (data-suggest).
// Without this file the box is a plain search form; with it, the box is an ARIA combobox:
// arrows move through the list, Enter or a tap picks a suggestion and searches for it.
(function () {
  "use strict";

  var DELAY_MS = 150;
  var MIN_CHARS = 2;

  function setUp(input, index) {
    var url = input.getAttribute("data-suggest");
    var form = input.form;
    if (!url || !form || !window.fetch) {
      return;
    }
    var list = document.createElement("ul");
    list.id = (input.id || "search-" + index) + "-suggestions";
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", input.getAttribute("data-suggest-label") || "");
    list.hidden = true;
    input.parentElement.classList.add("has-suggestions");
    input.insertAdjacentElement("afterend", list);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("autocomplete", "off");

    var timer = null;
    var pending = null;
    var active = -1;
    var shownFor = null;

    function options() {
      return list.querySelectorAll("[role=option]");
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(next) {
      var items = options();
      if (!items.length) {
        return;
      }
      active = (next + items.length) % items.length;
      items.forEach(function (item, i) {
        item.setAttribute("aria-selected", i === active ? "true" : "false");
      });
      input.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({ block: "nearest" });
    }

    function pick(text) {
      input.value = text;
      close();
      if (form.requestSubmit) {
        form.requestSubmit();
      } else {
        form.submit();
      }
    }

    function show(typed, suggestions) {
      list.textContent = "";
      active = -1;
      shownFor = typed;
      suggestions.forEach(function (text, i) {
        var item = document.createElement("li");
        item.id = list.id + "-" + i;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.textContent = text; // text, never HTML: words come from producers' texts
        item.addEventListener("mousedown", function (event) { event.preventDefault(); });
        item.addEventListener("click", function () { pick(text); });
        list.appendChild(item);
      });
      list.hidden = suggestions.length === 0;
      input.setAttribute("aria-expanded", suggestions.length ? "true" : "false");
    }

    function lookUp() {
      var typed = input.value.trim();
      if (typed.length < MIN_CHARS) {
        close();
        return;
      }
      if (typed === shownFor && !list.hidden) {
        return;
      }
      if (pending) {
        pending.abort();
      }
      pending = window.AbortController ? new AbortController() : null;
      window.fetch(url + "?q=" + encodeURIComponent(typed), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: pending ? pending.signal : undefined
      }).then(function (response) {
        return response.ok ? response.json() : { suggestions: [] };
      }).then(function (data) {
        if (input.value.trim() === typed && document.activeElement === input) {
          show(typed, Array.isArray(data.suggestions) ? data.suggestions.slice(0, 8) : []);
        }
      }).catch(function () { /* offline or aborted: the plain search still works */ });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(lookUp, DELAY_MS);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (list.hidden) {
          lookUp();
          return;
        }
        event.preventDefault();
        highlight(active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Enter" && !list.hidden && active >= 0) {
        event.preventDefault();
        pick(options()[active].textContent);
      } else if (event.key === "Escape" && !list.hidden) {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", function () {
      window.setTimeout(close, 150);
    });
    form.addEventListener("submit", close);
  }

  document.querySelectorAll("input[data-suggest]").forEach(setUp);
})();

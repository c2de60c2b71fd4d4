/* Rapport's page behaviour (no inline scripts: the CSP allows only 'self').
 *
 * 1. Every outcome visible. htmx 2 does not swap 4xx answers by default. A 400/422
 *    answer in HTML is a form fragment with its errors (values kept): swap it. A
 *    plain-text 4xx is a message, and any 5xx / lost connection shows a notice in
 *    the #flash live region; nothing else on the page changes, so a stale success
 *    notice never survives a failure (the swapped fragment replaces it).
 * 2. Keyboard shortcuts: "/" search, "l" log an interaction, "?" the shortcut list.
 */
(function () {
  "use strict";

  function flash(text, kind) {
    var box = document.getElementById("flash");
    if (!box) return;
    box.textContent = text;
    box.className = "flash " + (kind || "error");
    box.hidden = false;
  }

  function clearFlash() {
    var box = document.getElementById("flash");
    if (box && !box.hidden) { box.hidden = true; box.textContent = ""; }
  }

  document.addEventListener("htmx:beforeRequest", clearFlash);

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var type = (xhr.getResponseHeader("Content-Type") || "").toLowerCase();
    if ((xhr.status === 400 || xhr.status === 422) && type.indexOf("text/html") === 0) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var type = (xhr.getResponseHeader("Content-Type") || "").toLowerCase();
    var text = "";
    if (xhr.status >= 400 && xhr.status < 500 && type.indexOf("text/plain") === 0) {
      text = (xhr.responseText || "").trim().slice(0, 300);
    }
    if (!text) {
      if (xhr.status === 403) text = "You may not do this.";
      else if (xhr.status === 404) text = "Not found: it may have been removed or merged. Reload the page.";
      else if (xhr.status === 429) text = "Too many requests: wait a moment and try again.";
      else if (xhr.status >= 500) text = "The server failed (" + xhr.status + "): nothing was saved. Try again; if it keeps failing, tell your supervisor.";
      else text = "Not saved (" + xhr.status + ").";
    }
    flash(text, "error");
  });

  document.addEventListener("htmx:sendError", function () {
    flash("No connection to Rapport: nothing was saved. Check your network and try again.", "error");
  });
  document.addEventListener("htmx:timeout", function () {
    flash("Rapport did not answer in time: check whether it was saved before trying again.", "error");
  });

  // --- wide tables on a phone ---------------------------------------------------------
  // Under 600 px a list table scrolls inside itself (rapport.css); a keyboard user must
  // be able to reach and scroll it, so it takes focus and is named after its heading.
  function focusableTables(root) {
    var tables = (root || document).querySelectorAll("table.list:not([tabindex])");
    for (var i = 0; i < tables.length; i++) {
      var table = tables[i];
      table.setAttribute("tabindex", "0");
      if (!table.hasAttribute("aria-label") && !table.querySelector("caption")) {
        var section = table.closest("section, .card");
        var heading = section && section.querySelector("h1, h2, h3");
        table.setAttribute("aria-label", heading ? heading.textContent.trim() : "Table");
      }
    }
  }
  document.addEventListener("DOMContentLoaded", function () { focusableTables(document); });
  document.addEventListener("htmx:afterSettle", function (event) { focusableTables(event.target); });

  // --- keyboard shortcuts ---------------------------------------------------------
  function typing(target) {
    var tag = (target && target.tagName) || "";
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function toggleHelp(show) {
    var help = document.getElementById("shortcuts");
    if (!help) return;
    if (typeof help.showModal === "function") {
      if (show && !help.open) help.showModal(); else if (!show && help.open) help.close();
    } else {
      help.hidden = !show;
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (event.key === "/") {
      var search = document.getElementById("top-search");
      if (search) { event.preventDefault(); search.focus(); search.select(); }
    } else if (event.key === "l") {
      var first = document.querySelector(".log-form select, .log-form input:not([type=hidden])");
      if (first) {
        event.preventDefault();
        first.scrollIntoView({ block: "center" });
        first.focus();
      }
    } else if (event.key === "?") {
      event.preventDefault();
      var help = document.getElementById("shortcuts");
      toggleHelp(!(help && help.open));
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target && event.target.matches("[data-shortcuts-open]")) toggleHelp(true);
    if (event.target && event.target.matches("[data-shortcuts-close]")) toggleHelp(false);
  });
})();

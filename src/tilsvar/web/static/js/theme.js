// Colour theme: "auto" follows the system (prefers-color-scheme), or the user's choice of light/dark,
// kept in this browser. Loaded in <head> without defer so the page never flashes the wrong theme.
(function () {
  "use strict";
  var KEY = "tilsvar-theme";
  var ORDER = ["auto", "light", "dark"];

  function stored() {
    try { return localStorage.getItem(KEY) || "auto"; } catch (error) { return "auto"; }
  }

  function apply(theme) {
    var root = document.documentElement;
    if (theme === "light" || theme === "dark") root.dataset.theme = theme;
    else delete root.dataset.theme;
    var button = document.getElementById("theme-toggle");
    if (button) {
      var label = button.dataset["label" + theme.charAt(0).toUpperCase() + theme.slice(1)] || theme;
      button.setAttribute("aria-label", label);
      button.title = label;
      button.dataset.theme = theme;
    }
  }

  apply(stored());
  document.addEventListener("DOMContentLoaded", function () {
    apply(stored());
    var button = document.getElementById("theme-toggle");
    if (!button) return;
    button.addEventListener("click", function () {
      var next = ORDER[(ORDER.indexOf(stored()) + 1) % ORDER.length];
      try { localStorage.setItem(KEY, next); } catch (error) { /* private mode: this page only */ }
      apply(next);
    });
  });
})();

// Conveniences on top of pages that work without JavaScript:
// - [data-nav-toggle] opens and closes the navigation on narrow screens;
// - forms with [data-confirm] ask before posting;
// - selects with [data-autosubmit] submit their form when changed;
// - [data-focus] (an error summary) takes the focus, so screen readers announce it;
// - [data-fill-target] buttons copy a value into another field (e.g. a suggested target).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.querySelector("[data-nav-toggle]");
    if (toggle) {
      var nav = document.getElementById(toggle.getAttribute("aria-controls"));
      toggle.addEventListener("click", function () {
        var open = toggle.getAttribute("aria-expanded") === "true";
        toggle.setAttribute("aria-expanded", open ? "false" : "true");
        if (nav) nav.classList.toggle("open", !open);
      });
    }
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.form) select.form.requestSubmit();
      });
    });
    document.querySelectorAll("[data-fill-target]").forEach(function (button) {
      button.addEventListener("click", function () {
        var target = document.getElementById(button.getAttribute("data-fill-target"));
        if (target) {
          target.value = button.getAttribute("data-fill-value");
          target.focus();
        }
      });
    });
    var summary = document.querySelector("[data-focus]");
    if (summary) summary.focus();
  });
})();

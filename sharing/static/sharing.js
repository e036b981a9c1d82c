// Sharing pages: copy a link, print a poster, and keep a kiosk form empty between people.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var source = document.querySelector(copy.getAttribute("data-copy"));
      if (source) {
        source.select();
        if (navigator.clipboard) { navigator.clipboard.writeText(source.value); }
        copy.setAttribute("aria-live", "polite");
      }
    }
    if (event.target.closest("[data-print]")) { window.print(); }
    var replace = event.target.closest("a[data-replace]");
    if (replace) {
      // Kiosk: the thank-you page leaves no history entry to go back to.
      event.preventDefault();
      window.location.replace(replace.href);
    }
  });

  function clearKioskForms() {
    document.querySelectorAll("form[data-kiosk]").forEach(function (form) {
      form.querySelectorAll("input, select, textarea").forEach(function (input) {
        if (input.type === "hidden") { return; }
        if (input.type === "checkbox" || input.type === "radio") { input.checked = false; }
        else if (input.tagName === "SELECT") { input.selectedIndex = 0; }
        else { input.value = ""; }
      });
    });
  }

  // A page restored from the back/forward cache must not show the previous person's entry.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { clearKioskForms(); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var thanks = document.querySelector("[data-kiosk-return]");
    if (thanks) {
      var seconds = parseInt(thanks.getAttribute("data-kiosk-seconds"), 10) || 5;
      window.setTimeout(function () {
        window.location.replace(thanks.getAttribute("data-kiosk-return"));
      }, seconds * 1000);
    }
    var kioskForm = document.querySelector("form[data-kiosk]");
    if (kioskForm && !kioskForm.querySelector(".has-error")) { clearKioskForms(); }
    if (kioskForm) {
      // An idle tablet fetches a fresh empty form now and then, so its CSRF token never expires
      // in front of the next person.
      var lastTouched = Date.now();
      kioskForm.addEventListener("input", function () { lastTouched = Date.now(); });
      window.setInterval(function () {
        if (Date.now() - lastTouched > 20 * 60 * 1000) {
          window.location.replace(window.location.pathname);
        }
      }, 60 * 1000);
    }
  });
})();

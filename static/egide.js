// Egide's only script (no inline scripts: the pages run under a CSP without 'unsafe-inline').
// Keyboard users keep their place: when htmx replaces the element that had focus, focus
// moves to the region that was swapped in, instead of falling back to the top of the page.
(function () {
  "use strict";
  document.addEventListener("htmx:afterSwap", function (event) {
    var active = document.activeElement;
    if (active && active !== document.body && document.contains(active)) {
      return;
    }
    var old = event.detail && event.detail.target;
    var region = old && old.id ? document.getElementById(old.id) : null;
    if (region) {
      if (!region.hasAttribute("tabindex")) {
        region.setAttribute("tabindex", "-1");
      }
      region.focus({ preventScroll: true });
    }
  });
})();

// Egide's only script (no inline scripts: the pages run under a CSP without 'unsafe-inline').
// Keyboard users keep their place: when htmx replaces the element that had focus, focus
// moves to the region that was swapped in, instead of falling back to the top of the page.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  // At phone width the main navigation folds behind its "Menu" button (CSS decides when).
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest(".menu-toggle");
    if (!toggle) { return; }
    var open = toggle.closest("nav").classList.toggle("open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });
  // Fields that apply only to some key types (data-for-types="a b c") are hidden, and not
  // sent, for the others; the choice is re-read after every change and every htmx swap.
  function showFieldsFor(form) {
    var select = form.querySelector("select[name=key_type]");
    if (!select) { return; }
    form.querySelectorAll("[data-for-types]").forEach(function (box) {
      var applies = box.getAttribute("data-for-types").split(" ").indexOf(select.value) !== -1;
      box.hidden = !applies;
      box.querySelectorAll("input, select, textarea").forEach(function (input) { input.disabled = !applies; });
    });
  }
  // The playground: each form's data-key-facts says, per key, the hashes, paddings and
  // context its type takes; options that do not apply are hidden and not sent.
  function fitOptions(form) {
    var facts = form.getAttribute("data-key-facts");
    var select = form.querySelector("select[name$='-key']");
    if (!facts || !select) { return; }
    var fact = JSON.parse(facts)[select.value];
    if (!fact) { return; }
    form.querySelectorAll("[data-option]").forEach(function (box) {
      var kind = box.getAttribute("data-option");
      var allowed = kind === "hash" ? fact.hashes : kind === "padding" ? fact.paddings : null;
      var applies = kind === "context" ? fact.context : allowed.length > 0;
      box.hidden = !applies;
      box.querySelectorAll("input, select, textarea").forEach(function (input) { input.disabled = !applies; });
      var menu = box.querySelector("select");
      if (!menu || !allowed) { return; }
      Array.prototype.forEach.call(menu.options, function (option) {
        var offered = option.value === "" || allowed.indexOf(option.value) !== -1;
        option.hidden = !offered;
        option.disabled = !offered;
      });
      if (menu.selectedOptions.length && menu.selectedOptions[0].disabled) { menu.value = ""; }
    });
  }
  function showAll() {
    document.querySelectorAll("form").forEach(showFieldsFor);
    document.querySelectorAll("form[data-key-facts]").forEach(fitOptions);
  }
  // The playground's copy buttons: the output named by data-copy, to the clipboard.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) { return; }
    var output = document.getElementById(button.getAttribute("data-copy"));
    if (!output) { return; }
    var said = function () { button.textContent = "Copied"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(output.value).then(said, function () { button.textContent = "Copy failed"; });
    } else {
      output.select();
      if (document.execCommand("copy")) { said(); }
    }
  });
  document.addEventListener("change", function (event) {
    if (event.target.name === "key_type" && event.target.form) { showFieldsFor(event.target.form); }
    if (/-key$/.test(event.target.name || "") && event.target.form) { fitOptions(event.target.form); }
  });
  document.addEventListener("DOMContentLoaded", showAll);
  document.addEventListener("htmx:load", showAll);
  document.addEventListener("htmx:afterSwap", function (event) {
    var active = document.activeElement;
    if (active && active !== document.body && document.contains(active)) {
      return;
    }
    var old = event.detail && event.detail.target;
    // A panel loaded with the page (data-lazy) came without anyone asking: focus stays put.
    if (old && old.hasAttribute && old.hasAttribute("data-lazy")) {
      return;
    }
    var region = old && old.id ? document.getElementById(old.id) : null;
    if (region) {
      if (!region.hasAttribute("tabindex")) {
        region.setAttribute("tabindex", "-1");
      }
      region.focus({ preventScroll: true });
    }
  });
})();

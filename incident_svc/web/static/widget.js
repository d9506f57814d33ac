/*! incident-svc banner widget. One tag, no dependencies:
 *
 *   <script src="https://feed.example.com/widget.js" defer></script>
 *
 * Optional attributes on the tag: data-token="..." (a feed token minted by your backend for
 * the signed-in person), data-lang="zh-Hant-HK" (default: <html lang>), data-target="#where"
 * (a CSS selector; default: the top of <body>). Style it with CSS variables:
 * --incident-banner-bg, --incident-banner-color, --incident-banner-accent,
 * --incident-banner-critical-bg, --incident-banner-critical-accent, --incident-banner-font,
 * --incident-banner-padding, --incident-banner-radius.
 * After drawing it fires "incident-banners:drawn" on document (detail.count: banners shown).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.fetch) { return; }
  var src = new URL(script.src, location.href);
  var base = src.origin + src.pathname.replace(/\/widget\.js$/, "");
  var token = script.getAttribute("data-token");
  var target = script.getAttribute("data-target");
  var lang = script.getAttribute("data-lang") || document.documentElement.lang || navigator.language || "en";
  var KEY = "incident-svc:dismissed:";
  var LABELS = {
    en: { dismiss: "Dismiss", more: "More information" },
    "zh-hant": { dismiss: "關閉", more: "了解詳情" },
    "zh-hans": { dismiss: "关闭", more: "了解详情" }
  };
  var CSS = ".incident-banners{display:flex;flex-direction:column;gap:.5rem}" +
    ".incident-banner{display:flex;gap:.75rem;align-items:flex-start;" +
    "background:var(--incident-banner-bg,#fff4ce);color:var(--incident-banner-color,#1f1f1f);" +
    "border-left:4px solid var(--incident-banner-accent,#9a6700);" +
    "border-radius:var(--incident-banner-radius,4px);" +
    "padding:var(--incident-banner-padding,.75rem 1rem);font:var(--incident-banner-font,inherit)}" +
    ".incident-banner--critical{background:var(--incident-banner-critical-bg,#ffe3e3);" +
    "border-left-color:var(--incident-banner-critical-accent,#b00020)}" +
    ".incident-banner__text{flex:1}.incident-banner__title{display:block;font-weight:bold}" +
    ".incident-banner__body{margin:.25rem 0 0;white-space:pre-line}" +
    ".incident-banner__dismiss{background:none;border:0;font:inherit;font-size:1.25em;" +
    "line-height:1;cursor:pointer;color:inherit;padding:0 .25rem}" +
    ".incident-banner__dismiss:focus-visible{outline:2px solid currentColor}";

  function labels(locale) {
    var lower = String(locale || "en").toLowerCase();
    if (lower.indexOf("zh") === 0) {
      return /hans|-cn|-sg/.test(lower) ? LABELS["zh-hans"] : LABELS["zh-hant"];
    }
    return LABELS.en;
  }

  function isDismissed(id) {
    try { return window.localStorage.getItem(KEY + id) === "1"; } catch (e) { return false; }
  }

  function remember(id) {
    try { window.localStorage.setItem(KEY + id, "1"); } catch (e) { /* private mode: session only */ }
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text) { node.textContent = text; }
    return node;
  }

  function dismiss(node, id) {
    remember(id);
    var next = node.nextElementSibling || node.previousElementSibling;
    node.parentNode.removeChild(node);
    var button = next && next.querySelector(".incident-banner__dismiss");
    if (button) { button.focus(); }
  }

  // the server's grammar (banner_rules.normal_link): http(s), any case, a host, no whitespace
  // or control characters
  function isLink(value) {
    return typeof value === "string" && value.length <= 2048 &&
      /^https?:\/\/[^\/?#]/i.test(value) &&
      !/[\s\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]/u.test(value);
  }

  function card(banner) {
    var critical = banner.severity === "critical";
    var words = labels(banner.locale);
    var node = el("section", "incident-banner incident-banner--" + banner.severity);
    node.setAttribute("role", critical ? "alert" : "status");
    node.setAttribute("aria-label", banner.title);
    node.setAttribute("lang", banner.locale);
    node.setAttribute("data-banner-id", String(banner.id));
    var text = el("div", "incident-banner__text");
    text.appendChild(el("strong", "incident-banner__title", banner.title));
    text.appendChild(el("p", "incident-banner__body", banner.body));
    if (isLink(banner.link)) {
      var link = el("a", "incident-banner__link", words.more);
      link.href = banner.link;
      text.appendChild(link);
    }
    var button = el("button", "incident-banner__dismiss", "\u00d7");
    button.type = "button";
    button.setAttribute("aria-label", words.dismiss);
    button.addEventListener("click", function () { dismiss(node, banner.id); });
    node.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { dismiss(node, banner.id); }
    });
    node.appendChild(text);
    node.appendChild(button);
    return node;
  }

  function drawn(count) {
    document.dispatchEvent(new CustomEvent("incident-banners:drawn", { detail: { count: count } }));
  }

  function draw(banners) {
    var shown = banners.filter(function (b) { return !isDismissed(b.id); });
    if (!shown.length) { drawn(0); return; }
    if (!document.getElementById("incident-banner-style")) {
      var style = el("style");
      style.id = "incident-banner-style";
      style.textContent = CSS;
      document.head.appendChild(style);
    }
    var box = el("div", "incident-banners");
    shown.forEach(function (b) { box.appendChild(card(b)); });
    var place = target && document.querySelector(target);
    if (place) { place.appendChild(box); } else { document.body.insertBefore(box, document.body.firstChild); }
    drawn(shown.length);
  }

  function load() {
    var headers = token ? { Authorization: "Bearer " + token } : {};
    fetch(base + "/v1/banners?locale=" + encodeURIComponent(lang), { headers: headers, credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : { banners: [] }; })
      .then(function (doc) { draw(doc.banners || []); })
      .catch(function () { drawn(0); /* no banner is better than a broken page */ });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", load);
  } else {
    load();
  }
})();

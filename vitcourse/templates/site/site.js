/* vitcourse site: light/dark toggle, offline search, contents sidebar on phones. No library, no network. */
(function () {
  "use strict";
  var doc = document.documentElement;

  /* light/dark: the head script already applied the stored choice or prefers-color-scheme */
  function store(t) { try { localStorage.setItem("vc-theme", t); } catch (e) { /* file:// in some browsers */ } }
  function stored() { try { return localStorage.getItem("vc-theme"); } catch (e) { return null; } }
  var toggle = document.getElementById("vc-theme");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var t = doc.getAttribute("data-vc-theme") === "dark" ? "light" : "dark";
      doc.setAttribute("data-vc-theme", t);
      store(t);
    });
  }
  if (window.matchMedia) {
    var mq = matchMedia("(prefers-color-scheme: dark)");
    var follow = function () { if (!stored()) { doc.setAttribute("data-vc-theme", mq.matches ? "dark" : "light"); } };
    if (mq.addEventListener) { mq.addEventListener("change", follow); }
  }

  /* contents: folded on a phone, open beside the page on a wide screen */
  var side = document.querySelector(".vc-sidebar");
  if (side && window.matchMedia && matchMedia("(max-width: 1100px)").matches) { side.removeAttribute("open"); }

  /* search: the index (search-index.js, JSON) is loaded on first use, from the same folder, never the web */
  var box = document.getElementById("vc-search-box");
  var list = document.getElementById("vc-search-results");
  if (!box || !list) { return; }
  var root = box.getAttribute("data-root") || "";
  var loading = false;

  function load(then) {
    if (window.vcSearchIndex) { then(); return; }
    if (loading) { return; }
    loading = true;
    var s = document.createElement("script");
    s.src = box.getAttribute("data-index");
    s.onload = function () { loading = false; then(); };
    s.onerror = function () { loading = false; show([], "search index missing: " + s.src); };
    document.head.appendChild(s);
  }

  function snippet(text, term) {
    var i = text.toLowerCase().indexOf(term);
    if (i < 0) { return text.slice(0, 140); }
    var start = Math.max(0, i - 60);
    return (start > 0 ? "… " : "") + text.slice(start, i + 100) + (i + 100 < text.length ? " …" : "");
  }

  function search(q) {
    var terms = q.toLowerCase().split(/\s+/).filter(Boolean);
    if (!terms.length) { return []; }
    var hits = [];
    (window.vcSearchIndex.entries || []).forEach(function (e) {
      var title = (e.t + " " + e.p).toLowerCase(), text = e.x.toLowerCase(), score = 0;
      for (var k = 0; k < terms.length; k++) {
        var inTitle = title.indexOf(terms[k]) >= 0, inText = text.indexOf(terms[k]) >= 0;
        if (!inTitle && !inText) { return; }
        score += (inTitle ? 10 : 0) + (inText ? 1 + Math.min(text.split(terms[k]).length - 1, 9) : 0);
      }
      hits.push({e: e, score: score});
    });
    hits.sort(function (a, b) { return b.score - a.score; });
    return hits.slice(0, 20).map(function (h) { return {e: h.e, snip: snippet(h.e.x, terms[0])}; });
  }

  function show(hits, empty) {
    list.innerHTML = "";
    if (!hits.length) {
      var li = document.createElement("li");
      li.className = "vc-search-none";
      li.textContent = empty;
      list.appendChild(li);
    }
    hits.forEach(function (h) {
      var li = document.createElement("li"), a = document.createElement("a"), small = document.createElement("small");
      a.href = root + h.e.u;
      a.textContent = h.e.t === h.e.p ? h.e.p : h.e.p + " › " + h.e.t;
      small.textContent = h.snip;
      li.appendChild(a);
      li.appendChild(small);
      list.appendChild(li);
    });
    list.hidden = false;
  }

  function run() {
    var q = box.value.trim();
    if (!q) { list.hidden = true; return; }
    load(function () { show(search(q), box.getAttribute("data-none") + " " + q); });
  }

  box.addEventListener("input", run);
  box.addEventListener("focus", function () { load(function () {}); });
  box.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") { list.hidden = true; box.blur(); }
    if (ev.key === "Enter") {
      var first = list.querySelector("a");
      if (first) { window.location.href = first.href; }
    }
  });
  document.addEventListener("click", function (ev) {
    if (!list.contains(ev.target) && ev.target !== box) { list.hidden = true; }
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "/" && document.activeElement !== box && !/^(INPUT|TEXTAREA)$/.test(document.activeElement.tagName)) {
      ev.preventDefault();
      box.focus();
    }
  });
})();

// Shared by the dashboard pages: the date range in the address bar, number formatting, safe text.
"use strict";
// The page's words, as JSON in <script id="words"> (no inline script: the CSP allows none).
window.WORDS = (() => { const el = document.getElementById("words"); return el ? JSON.parse(el.textContent) : {}; })();
const Dash = {
  params() { return new URLSearchParams(location.search); },
  fmt(v) { return v === null || v === undefined ? "–" : String(v); },
  cell(tr, value, cls) { const td = document.createElement("td"); td.textContent = Dash.fmt(value); if (cls) td.className = cls; tr.appendChild(td); return td; },
  bindFilters(form, onChange) {
    const p = Dash.params();
    for (const el of form.elements) if (el.name && p.get(el.name)) el.value = p.get(el.name);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const q = new URLSearchParams();
      for (const el of form.elements) if (el.name && el.value) q.set(el.name, el.value);
      history.replaceState(null, "", "?" + q.toString());
      onChange();
    });
  },
  range() { const p = Dash.params(), q = new URLSearchParams(); for (const k of ["from", "to"]) if (p.get(k)) q.set(k, p.get(k)); return q.toString(); },
  async getJSON(url) { const r = await fetch(url, {credentials: "same-origin"}); if (!r.ok) throw new Error(url + ": " + r.status); return r.json(); },
  every(seconds, fn) { fn(); return setInterval(fn, seconds * 1000); },
};

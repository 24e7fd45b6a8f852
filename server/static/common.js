// Shared by the dashboard pages: the date range in the address bar, number formatting, safe text.
"use strict";
// The page's words, as JSON in <script id="words"> (no inline script: the CSP allows none).
window.WORDS = (() => { const el = document.getElementById("words"); return el ? JSON.parse(el.textContent) : {}; })();
// Numbers as the page's language writes them: Vietnamese 78,2 and 19.075; English 78.2 and 19,075.
const NUMBERS = new Intl.NumberFormat(document.documentElement.lang === "en" ? "en-GB" : "vi-VN", {maximumFractionDigits: 1});
const Dash = {
  params() { return new URLSearchParams(location.search); },
  fmt(v) { return v === null || v === undefined ? "–" : typeof v === "number" ? NUMBERS.format(v) : String(v); },
  // An hourly chart's x axis: whole hours (never 7,2); charts.js has the rest.
  hourAxis(label) { return {label, incrs: [1, 2, 3, 6], values: (u, vals) => vals.map((v) => Number.isInteger(v) ? v + "h" : "")}; },
  // Over the threshold, said by a mark and its word (for a screen reader and a hover), not by red alone.
  mark(word) { const m = document.createElement("span"); m.className = "mark"; m.textContent = "▲"; m.title = word; m.setAttribute("aria-label", word); return m; },
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
  // The days, and the part of the user's scope the page shows (?province=, ?commune=): every link and request keeps them.
  range() { const p = Dash.params(), q = new URLSearchParams(); for (const k of ["from", "to", "province", "commune"]) if (p.get(k)) q.set(k, p.get(k)); return q.toString(); },
  async getJSON(url) { const r = await fetch(url, {credentials: "same-origin"}); if (!r.ok) throw new Error(url + ": " + r.status); return r.json(); },
  every(seconds, fn) { fn(); return setInterval(fn, seconds * 1000); },
};

// The public ticket page follows its ticket in place every sync interval (no timed reload of the
// whole page, which a screen reader would restart: WCAG 2.2.1), from the page's own .json.
"use strict";
const main = document.getElementById("ticket");

function set(id, text, shown) {
  const el = document.getElementById(id);
  if (text !== null) el.textContent = text;
  if (shown !== undefined) el.hidden = !shown;
}

async function refresh() {
  try {
    const r = await fetch(main.dataset.url, { cache: "no-store" });
    if (!r.ok) return;
    const v = await r.json();
    set("state", v.text);
    const waiting = v.state === "waiting";
    set("waiting", null, waiting);
    if (waiting) { set("ahead", String(v.ahead)); set("eta", v.eta); }
    set("serving", v.serving.map((s) => `${s.ticket} (quầy ${s.counter})`).join(", "), v.serving.length > 0);
    set("updated", v.updated_s_ago === null ? "" : `Cập nhật ${v.updated_s_ago} giây trước.`, v.updated_s_ago !== null);
  } catch (e) { /* a phone's network comes and goes: try again at the next tick */ }
}
setInterval(refresh, 1000 * Number(main.dataset.refresh || 10));

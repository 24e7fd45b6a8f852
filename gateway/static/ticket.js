// The ticket status page refreshes itself every 10 s (a file, not inline: the CSP allows no inline script).
"use strict";
const card = document.querySelector(".card");
async function refresh() {
  try {
    const r = await fetch(`/t/${card.dataset.day}/${card.dataset.ticket}.json`, { cache: "no-store" });
    if (!r.ok) return;
    const v = await r.json();
    document.getElementById("state").textContent = v.text;
    document.getElementById("ahead").textContent = v.ahead ?? "—";
    document.getElementById("eta").textContent = v.state === "waiting" ? (v.eta ?? "Chưa xác định") : "—";
    document.getElementById("serving").textContent =
      v.serving.map((s) => `${s.ticket} (quầy ${s.counter})`).join(", ") || "—";
  } catch (e) { /* the center's Wi-Fi comes and goes: try again at the next tick */ }
}
setInterval(refresh, 10000);

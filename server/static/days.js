// Day by day over the chosen range, for the province or one center (?center=): a row per day and
// the range's total, and the two charts of the days. The figures are the synced buckets' sums.
"use strict";
(() => {
  const form = document.getElementById("filters"), table = document.getElementById("days");

  function row(tr, d) {
    Dash.cell(tr, d.issued, "issued"); Dash.cell(tr, d.served, "served"); Dash.cell(tr, d.resolved_pct, "resolved");
    Dash.cell(tr, d.forwarded, "forwarded"); Dash.cell(tr, d.no_show, "no_show"); Dash.cell(tr, d.cancelled, "cancelled");
    Dash.cell(tr, d.unfinished, "unfinished"); Dash.cell(tr, d.avg_wait_min, "avg");
    const p90 = Dash.cell(tr, d.p90_wait_min, "p90" + (d.breach ? " breach" : ""));
    if (d.breach) p90.prepend(Dash.mark(WORDS.breach), " ");  // the word is its title and aria-label
  }
  async function refresh() {
    const p = Dash.params(), q = new URLSearchParams(Dash.range());
    if (p.get("center")) q.set("center", p.get("center"));
    let d;
    try { d = await Dash.getJSON("/api/v1/days?" + q); } catch (e) { console.warn(e); return; }
    const labels = Charts.dayLabels(d.days.map((x) => x.day));
    const body = table.tBodies[0]; body.replaceChildren();
    d.days.forEach((x, i) => {
      const tr = body.insertRow(); tr.dataset.day = x.day;
      const th = document.createElement("th"); th.scope = "row"; th.textContent = labels[i]; tr.appendChild(th);
      row(tr, x);
    });
    const foot = table.tFoot; foot.replaceChildren();
    const tr = foot.insertRow(); tr.className = "total";
    const th = document.createElement("th"); th.scope = "row"; th.textContent = WORDS.total; tr.appendChild(th);
    row(tr, d.total);
    Charts.trend(["chart-days-issued", "chart-days-wait"], d.days, d.threshold_p90_min);
  }
  // Another scope is another page (its name in the heading, its link to the center).
  form.elements.center.addEventListener("change", () => {
    const q = new URLSearchParams(Dash.range());
    if (form.elements.center.value) q.set("center", form.elements.center.value);
    location.assign("/days?" + q);
  });
  Dash.bindFilters(form, refresh);
  refresh();
})();

// The province overview: every center's row and each ward's roll-up, refreshed every sync interval.
"use strict";
(() => {
  const table = document.getElementById("centers"), form = document.getElementById("filters");
  const wardSelect = form.elements.ward;
  let data = null, sortKey = "ward", asc = true;

  function sortValue(row, key) { return key === "alerts" ? row.alerts.length : row[key]; }
  function render() {
    if (!data) return;
    const ward = wardSelect.value;
    const known = new Set([...wardSelect.options].map((o) => o.value));
    for (const w of data.wards) if (!known.has(w.ward)) wardSelect.add(new Option(w.ward, w.ward));
    const rows = data.centers.filter((r) => !ward || r.ward === ward).sort((a, b) => {
      const x = sortValue(a, sortKey), y = sortValue(b, sortKey);
      const c = x === y ? 0 : x === null || x === undefined ? 1 : y === null || y === undefined ? -1 : x < y ? -1 : 1;
      return asc ? c : -c;
    });
    const body = table.tBodies[0];
    body.replaceChildren();
    for (const r of rows) {
      const tr = body.insertRow();
      tr.dataset.center = r.id;
      tr.className = (r.stale ? "stale " : "") + (r.breach ? "breach" : "");
      const name = document.createElement("td"), link = document.createElement("a");
      link.href = "/centers/" + encodeURIComponent(r.id) + "?" + Dash.range();
      link.textContent = r.name; name.appendChild(link);
      if (r.site !== "main") name.append(" · " + r.site);
      tr.appendChild(name);
      Dash.cell(tr, r.ward);
      Dash.cell(tr, r.waiting, "waiting"); Dash.cell(tr, r.longest_wait_min); Dash.cell(tr, r.counters_open);
      Dash.cell(tr, r.served, "served");
      Dash.cell(tr, r.no_show, "no_show"); Dash.cell(tr, r.cancelled, "cancelled"); Dash.cell(tr, r.unfinished, "unfinished");
      Dash.cell(tr, r.resolved_pct); Dash.cell(tr, r.avg_wait_min);
      const p90 = Dash.cell(tr, r.p90_wait_min, "p90");
      if (r.breach) p90.title = WORDS.breach;
      Dash.cell(tr, r.satisfaction);
      const alerts = Dash.cell(tr, r.alerts.length || "", "alerts");
      alerts.title = r.alerts.map((a) => a.message).join("\n");
      const age = Dash.cell(tr, r.sync_age_s === null ? WORDS.never : r.sync_age_s, "sync");
      if (r.stale) { const b = document.createElement("span"); b.className = "badge"; b.textContent = WORDS.stale; age.append(" ", b); }
    }
    const wards = document.getElementById("wards").tBodies[0];
    wards.replaceChildren();
    for (const w of data.wards.filter((w) => !ward || w.ward === ward)) {
      const tr = wards.insertRow();
      for (const v of [w.ward, w.sites, w.waiting, w.served, w.no_show, w.cancelled, w.unfinished, w.resolved_pct,
                       w.avg_wait_min, w.p90_wait_min, w.satisfaction]) Dash.cell(tr, v);
    }
    for (const a of ["export-csv", "export-xlsx"]) {
      const el = document.getElementById(a);
      el.href = el.href.split("?")[0] + "?" + Dash.range();
    }
  }
  async function refresh() {
    try { data = await Dash.getJSON("/api/v1/overview?" + Dash.range()); render(); } catch (e) { console.warn(e); }
  }
  for (const th of table.tHead.rows[0].cells) {
    th.addEventListener("click", () => {
      asc = sortKey === th.dataset.key ? !asc : true; sortKey = th.dataset.key;
      for (const o of table.tHead.rows[0].cells) o.classList.remove("sorted", "asc");
      th.classList.add("sorted"); if (asc) th.classList.add("asc");
      render();
    });
  }
  wardSelect.addEventListener("change", render);
  Dash.bindFilters(form, refresh);
  Dash.every(Number(table.dataset.interval) || 10, refresh);
})();

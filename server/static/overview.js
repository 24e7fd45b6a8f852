// The province overview: every center's figures over the chosen days, apart from what is live
// now, each with the province's total row; charts of the centers side by side and of the days;
// each ward's roll-up; refreshed every sync interval.
"use strict";
(() => {
  const table = document.getElementById("centers"), live = document.getElementById("live");
  const form = document.getElementById("filters");
  const wardSelect = form.elements.ward;
  let data = null, sortKey = "ward", asc = true;

  // A queue's alert (it names a service, not a device) outweighs any number of boards' in the sort.
  const ALERT_WORDS = JSON.parse(live.querySelector("th[data-key=alerts]").dataset.words);
  const queueAlerts = (row) => row.alerts.filter((a) => !("device" in a));
  function sortValue(row, key) { return key === "alerts" ? queueAlerts(row).length * 1000 + row.alerts.length : row[key]; }
  // The alerts cell: a red badge per kind of the queue's alerts, one for the boards' with their count;
  // every message on hover. A row with a queue alert is marked whole (tr.alerting).
  function alertsCell(tr, r) {
    const td = document.createElement("td"), queue = queueAlerts(r), boards = r.alerts.length - queue.length;
    td.className = "alerts"; tr.appendChild(td);
    const badge = (text, cls) => { const b = document.createElement("span"); b.className = "badge " + cls; b.textContent = text; td.append(b, " "); };
    for (const kind of new Set(queue.map((a) => a.kind))) badge(ALERT_WORDS[kind] || kind, "alert-queue");
    if (boards) badge(ALERT_WORDS.board + ": " + Dash.fmt(boards), "alert-board");
    td.title = r.alerts.map((a) => a.message).join("\n");
    if (queue.length) tr.classList.add("alerting");
  }
  function nameCell(tr, r) {
    const name = document.createElement("td"), link = document.createElement("a");
    name.className = "name";
    link.href = "/centers/" + encodeURIComponent(r.id) + "?" + Dash.range();
    link.textContent = r.name; name.appendChild(link);
    if (r.site !== "main" && !r.name.includes(r.site)) name.append(" · " + r.site);  // a site its name already says: once
    tr.appendChild(name);
  }
  function rangeRow(tr, r) {
    Dash.cell(tr, r.issued, "issued"); Dash.cell(tr, r.served, "served");
    Dash.cell(tr, r.no_show, "no_show"); Dash.cell(tr, r.cancelled, "cancelled"); Dash.cell(tr, r.unfinished, "unfinished");
    Dash.cell(tr, r.resolved_pct, "resolved"); Dash.cell(tr, r.forwarded, "forwarded");
    Dash.cell(tr, r.avg_wait_min, "avg");
    const p90 = Dash.cell(tr, r.p90_wait_min, "p90");
    if (r.breach) p90.title = WORDS.breach;
    Dash.cell(tr, r.satisfaction, "satisfaction");
  }
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
    const body = table.tBodies[0], now = live.tBodies[0];
    body.replaceChildren(); now.replaceChildren();
    for (const r of rows) {
      const tr = body.insertRow();
      tr.dataset.center = r.id;
      tr.className = (r.stale ? "stale " : "") + (r.breach ? "breach" : "");
      nameCell(tr, r); Dash.cell(tr, r.ward); rangeRow(tr, r);
      const lr = now.insertRow();
      lr.dataset.center = r.id;
      lr.className = r.stale ? "stale" : "";
      nameCell(lr, r); Dash.cell(lr, r.ward);
      Dash.cell(lr, r.waiting, "waiting"); Dash.cell(lr, r.longest_wait_min, "longest"); Dash.cell(lr, r.counters_open, "open");
      alertsCell(lr, r);
      const age = Dash.cell(lr, r.sync_age_s === null ? WORDS.never : r.sync_age_s, "sync");
      if (r.stale) { const b = document.createElement("span"); b.className = "badge"; b.textContent = WORDS.stale; age.append(" ", b); }
    }
    // The scope's row (Toàn quốc, Toàn tỉnh, Toàn xã …): every center in it, whatever the ward filter
    // shows; under the centers only when they are all listed (the nation lists provinces instead).
    const t = data.total, whole = data.centers.length === t.centers;
    const label = document.createElement("th"); label.colSpan = 2; label.scope = "row";
    label.textContent = WORDS.total + " (" + Dash.fmt(t.centers) + ")";
    const foot = table.tFoot; foot.replaceChildren();
    const lfoot = live.tFoot; lfoot.replaceChildren();
    if (whole) {
      const tr = foot.insertRow(); tr.className = "total" + (t.breach ? " breach" : "");
      tr.appendChild(label); rangeRow(tr, t);
      const lt = lfoot.insertRow(); lt.className = "total";
      lt.appendChild(label.cloneNode(true));
      Dash.cell(lt, t.waiting, "waiting"); Dash.cell(lt, t.longest_wait_min, "longest"); Dash.cell(lt, t.counters_open, "open");
      Dash.cell(lt, t.alerts || "", "alerts"); Dash.cell(lt, "");
    }
    provinces(t, label);
    // At the nation's level the wards are those of the centers placed in no province: often none.
    document.getElementById("wards-part").hidden = document.getElementById("ward-filter").hidden = !data.wards.length;
    const wards = document.getElementById("wards").tBodies[0];
    wards.replaceChildren();
    for (const w of data.wards.filter((w) => !ward || w.ward === ward)) {
      const tr = wards.insertRow();
      for (const v of [w.ward, w.sites, w.waiting, w.issued, w.served, w.no_show, w.cancelled, w.unfinished,
                       w.resolved_pct, w.forwarded, w.avg_wait_min, w.p90_wait_min, w.satisfaction]) Dash.cell(tr, v);
    }
    const placed = (data.provinces || []).filter((p) => p.centers).map((p) => ({...p, ward: p.name, site: "main"}));
    Charts.centers(["chart-centers-issued", "chart-centers-p90"], placed.concat(rows), data.threshold_p90_min);
    Charts.trend(["chart-days-issued", "chart-days-wait"], data.days, data.threshold_p90_min);  // the province's
    for (const a of ["see-days", "export-csv", "export-xlsx"]) {
      const el = document.getElementById(a);
      el.href = el.href.split("?")[0] + "?" + Dash.range();
    }
  }
  // The nation's 34 provinces, each opening its own overview (?province=CODE), and the nation's row.
  function provinces(t, label) {
    const el = document.getElementById("provinces");
    if (!el || !data.provinces) return;
    document.getElementById("centers-title").hidden = data.centers.length === t.centers;
    document.getElementById("centers-part").hidden = !data.centers.length;  // every center placed: the provinces say it all
    const body = el.tBodies[0]; body.replaceChildren();
    for (const p of data.provinces) {
      const tr = body.insertRow(); tr.dataset.province = p.code;
      tr.className = (p.breach ? "breach" : "") + (p.centers ? "" : " empty");
      const name = document.createElement("td"), link = document.createElement("a");
      name.className = "name"; link.href = "/?" + new URLSearchParams({...Object.fromEntries(new URLSearchParams(Dash.range())), province: p.code});
      link.textContent = p.name; name.appendChild(link); tr.appendChild(name);
      Dash.cell(tr, p.centers, "sites"); Dash.cell(tr, p.waiting, "waiting");
      rangeRow(tr, p);
    }
    el.tFoot.replaceChildren();
    const tr = el.tFoot.insertRow(); tr.className = "total" + (t.breach ? " breach" : "");
    const th = label.cloneNode(true); th.colSpan = 1; tr.appendChild(th);
    Dash.cell(tr, t.centers, "sites"); Dash.cell(tr, t.waiting, "waiting"); rangeRow(tr, t);
  }
  async function refresh() {
    try { data = await Dash.getJSON("/api/v1/overview?" + Dash.range()); render(); } catch (e) { console.warn(e); }
  }
  const heads = [...table.tHead.rows[0].cells, ...live.tHead.rows[0].cells];
  for (const th of heads) {
    th.addEventListener("click", () => {
      asc = sortKey === th.dataset.key ? !asc : true; sortKey = th.dataset.key;
      for (const o of heads) o.classList.remove("sorted", "asc");
      th.classList.add("sorted"); if (asc) th.classList.add("asc");
      render();
    });
  }
  wardSelect.addEventListener("change", render);
  Dash.bindFilters(form, refresh);
  Dash.every(Number(table.dataset.interval) || 10, refresh);
})();

// One center: live numbers, hourly charts (uPlot, served by this server) and the per-service and
// per-counter tables, refreshed every sync interval.
"use strict";
(() => {
  const live = document.getElementById("live"), center = live.dataset.center;
  const charts = {};

  function chart(id, title, series, hours, columns, bars) {
    const el = document.getElementById(id);
    const width = Math.max(300, el.clientWidth - 16);
    const data = [hours, ...columns];
    if (charts[id]) { charts[id].setData(data); return; }
    const opts = {
      title, width, height: 240,
      scales: {x: {time: false}, y: {range: (u, min, max) => [0, Math.max(1, max) * 1.05]}},  // counts and minutes from 0: a bar's height is its value
      axes: [Dash.hourAxis(WORDS.hour), Dash.valueAxis()],
      series: [{label: WORDS.hour}, ...series.map((label, i) => ({
        label, stroke: ["#0b5cad", "#b42318", "#2f7d32"][i], fill: bars ? "rgba(11,92,173,.25)" : undefined,
        width: 2, paths: bars ? uPlot.paths.bars({size: [0.6, 40]}) : undefined,
      }))],
    };
    charts[id] = new uPlot(opts, data, el);
  }

  // An alert as a list item: the queue's (it names a service, not a device) red, first and tagged
  // with its kind; a board's in dark amber (its message names the board).
  const alerts = document.getElementById("live-alerts"), ALERT_WORDS = JSON.parse(alerts.dataset.words);
  function alertItem(a) {
    const li = document.createElement("li"), queue = !("device" in a);
    li.className = queue ? "queue" : "board"; li.dataset.kind = a.kind;
    if (queue) {
      const tag = document.createElement("span");
      tag.className = "badge alert-queue"; tag.textContent = ALERT_WORDS[a.kind] || ALERT_WORDS.queue;
      li.append(tag, " ");
    }
    li.append(a.message);
    return li;
  }

  function table(id, rows, cells) {
    const body = document.getElementById(id).tBodies[0];
    body.replaceChildren();
    for (const r of rows) { const tr = body.insertRow(); cells(r).forEach(([v, cls]) => Dash.cell(tr, v, cls)); }
  }

  async function refresh() {
    let d;
    try { d = await Dash.getJSON("/api/v1/centers/" + encodeURIComponent(center) + "?" + Dash.range()); }
    catch (e) { console.warn(e); return; }
    const l = d.live;
    document.getElementById("live-waiting").textContent = WORDS.waiting + ": " + Dash.fmt(l.waiting);
    document.getElementById("live-open").textContent = WORDS.counters_open + ": " + Dash.fmt(l.counters_open);
    document.getElementById("live-devices").textContent = WORDS.devices + ": " + (l.devices ? l.devices.online + "/" + l.devices.total : "–");
    document.getElementById("live-sync").textContent = WORDS.last_sync + ": " + Dash.fmt(l.sync_age_s) + (l.stale ? " (" + WORDS.stale + ")" : "");
    alerts.replaceChildren(...l.alerts.map(alertItem));
    const hours = d.hours.map((h) => h.hour);
    chart("chart-arrivals", WORDS.arrivals + " / " + WORDS.served, [WORDS.arrivals, WORDS.served], hours,
          [d.hours.map((h) => h.issued), d.hours.map((h) => h.served)], true);
    chart("chart-waits", WORDS.avg_wait + " / " + WORDS.p90_wait, [WORDS.avg_wait, WORDS.p90_wait], hours,
          [d.hours.map((h) => h.avg_wait_min), d.hours.map((h) => h.p90_wait_min)], false);
    const queue = Object.fromEntries(l.queue.map((q) => [q.service, q.count]));
    table("services", d.services, (s) => [[s.service + " · " + s.name], [queue[s.service]], [s.issued], [s.served],
      [s.no_show], [s.cancelled], [s.unfinished], [s.resolved_pct], [s.avg_wait_min],
      [s.p90_wait_min, s.breach ? "breach" : ""], [s.threshold_p90_min], [s.avg_service_min], [s.satisfaction]]);
    table("counters", d.counters, (c) => [[c.counter], [WORDS[c.status] || c.status], [c.ticket], [c.served],
      [c.resolved_pct], [c.avg_service_min], [c.p90_service_min], [c.satisfaction]]);
  }
  Dash.bindFilters(document.getElementById("filters"), refresh);
  Dash.every(Number(live.dataset.interval) || 10, refresh);
})();

// One center: live numbers (queues and counters now), then the chosen days' hourly charts (uPlot,
// served by this server) and per-service and per-counter tables, refreshed every sync interval.
"use strict";
(() => {
  const live = document.getElementById("live"), center = live.dataset.center;
  const charts = {};

  function chart(id, title, series, hours, columns, bars) {
    const el = document.getElementById(id);
    const width = Math.max(260, el.clientWidth - 16);
    const data = [hours, ...columns];
    if (charts[id]) { charts[id].setData(data); return; }
    const opts = {
      title, width, height: 240,
      scales: {x: {time: false, range: (u, min, max) => [min - 0.5, max + 0.5]}, y: Charts.fromZero()},  // whole first and last bars  // counts and minutes from 0: a bar's height is its value
      axes: [Dash.hourAxis(WORDS.hour), Charts.valueAxis(bars ? WORDS.tickets : WORDS.minutes, true)],
      series: [{label: WORDS.hour}, ...series.map((label, i) => ({
        label, stroke: [Charts.COLOUR.blue, Charts.COLOUR.green][i], fill: bars ? [Charts.COLOUR.blue + "40", Charts.COLOUR.green][i] : undefined,
        width: 2, paths: bars ? uPlot.paths.bars({size: [[0.7, 0.35][i], 40]}) : undefined, dash: !bars && i ? [8, 5] : undefined,
        value: (u, v) => Dash.fmt(v), points: bars ? {show: false} : undefined,
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
    const days = document.getElementById("see-days");
    days.href = days.href.split("&")[0] + "&" + Dash.range();
    const hours = d.hours.map((h) => h.hour);
    // A long range's hour axis covers its last 31 days only (server/reports.py HOUR_AXIS_DAYS): say so.
    const since = d.hours_from === d.from ? "" : " (" + WORDS.hours_since.replace("{day}", d.hours_from.split("-").reverse().join("/")) + ")";
    chart("chart-arrivals", WORDS.arrivals + " / " + WORDS.served + since, [WORDS.arrivals, WORDS.served], hours,
          [d.hours.map((h) => h.issued), d.hours.map((h) => h.served)], true);
    chart("chart-waits", WORDS.avg_wait + " / " + WORDS.p90_wait + since, [WORDS.avg_wait, WORDS.p90_wait], hours,
          [d.hours.map((h) => h.avg_wait_min), d.hours.map((h) => h.p90_wait_min)], false);
    // Now, apart from the range's figures below: each service's queue, each counter's state.
    table("live-queue", l.queue, (q) => [[q.service + " · " + q.name], [q.count], [Math.round(q.longest_wait_s / 6) / 10]]);
    table("live-counters", d.counters.filter((c) => c.status), (c) => [[c.counter], [WORDS[c.status] || c.status], [c.ticket]]);
    table("services", d.services, (s) => [[s.service + " · " + s.name], [s.issued], [s.served],
      [s.no_show], [s.cancelled], [s.unfinished], [s.resolved_pct], [s.avg_wait_min],
      [s.p90_wait_min, s.breach ? "breach" : ""], [s.threshold_p90_min], [s.avg_service_min], [s.satisfaction]]);
    table("counters", d.counters, (c) => [[c.counter], [c.served],
      [c.resolved_pct], [c.avg_service_min], [c.p90_service_min], [c.satisfaction]]);
  }
  Dash.bindFilters(document.getElementById("filters"), refresh);
  Dash.every(Number(live.dataset.interval) || 10, refresh);
})();

// The dashboard's charts (uPlot, served by this server): each sized to its box and re-sized with
// the window; axes, legends and hover values in the page's number format; counts on whole-number
// ticks (never 7,2 tickets); series told apart by their legend's word and a dash or a bar's width,
// not by colour alone. Used by overview.js, days.js, center.js and compare.js.
"use strict";
const Charts = (() => {
  const HEIGHT = 260;
  // Each colour has at least 4.5:1 contrast on white.
  const COLOUR = {blue: "#0b5cad", green: "#1e6b34", red: "#b42318", grey: "#4a5561", orange: "#8a4b00"};
  const WHOLE = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000, 100000];
  const made = {};
  const W = (() => { const el = document.getElementById("chart-words"); return el ? JSON.parse(el.textContent) : {}; })();

  function width(el) { return Math.max(260, el.clientWidth - 16); }

  // draw(id, opts, data): made once, then only its data changes while its x labels stay the same.
  function draw(id, opts, data, key) {
    const el = document.getElementById(id);
    if (made[id] && made[id].key === key) { made[id].chart.setData(data); return made[id].chart; }
    if (made[id]) made[id].chart.destroy();
    el.replaceChildren();
    made[id] = {key, chart: new uPlot({width: width(el), height: HEIGHT, ...opts}, data, el)};
    return made[id].chart;
  }
  window.addEventListener("resize", () => {
    for (const [id, m] of Object.entries(made)) m.chart.setSize({width: width(document.getElementById(id)), height: HEIGHT});
  });

  // A y axis from 0 in the page's number format; `whole` for counts (and minutes): whole ticks.
  function valueAxis(label, whole) {
    const axis = {label, values: (u, vals) => vals.map((v) => Dash.fmt(v)), size: 56};
    if (whole) axis.incrs = WHOLE;
    return axis;
  }
  function fromZero() { return {range: (u, min, max) => [0, Math.max(1, max || 0) * 1.08]}; }

  // An x axis of named places 0…n-1 (centers, days): a label on each whole tick, slanted when
  // they would not fit side by side.
  function labelAxis(labels, label) {
    return {
      label, incrs: WHOLE, space: 28,
      values: (u, vals) => vals.map((v) => (Number.isInteger(v) && labels[v] !== undefined ? labels[v] : "")),
      rotate: (u) => (crowded(u, labels) ? -40 : 0),
      size: (u) => (crowded(u, labels) ? Math.min(130, 36 + longest(labels) * 5) : 48),
    };
  }
  function longest(labels) { return Math.max(4, ...labels.map((l) => l.length)); }
  function crowded(u, labels) { return labels.length * longest(labels) * 8 > u.width - 80; }
  function xScale(n) { return {time: false, range: () => [-0.5, Math.max(0.5, n - 0.5)]}; }

  function series(label, colour, kind) {
    const s = {label, stroke: colour, width: 2, value: (u, v) => Dash.fmt(v), spanGaps: false};
    if (kind === "bar" || kind === "narrow") {
      s.paths = uPlot.paths.bars({size: [kind === "bar" ? 0.75 : 0.4, 60]});
      s.fill = kind === "bar" ? colour + "55" : colour;
      s.points = {show: false};
    } else if (kind === "dash") {
      s.dash = [8, 5]; s.points = {show: false}; s.width = 1.5;
    } else {
      s.points = {show: true, size: 6};
    }
    return s;
  }

  // Places side by side (or in a row of days): `columns` are [label, colour, kind, values].
  function places(id, title, labels, xLabel, yLabel, whole, columns) {
    const opts = {
      title, padding: [12, 36, 0, 0],  // room on the right for a slanted last label
      scales: {x: xScale(labels.length), y: fromZero()},
      axes: [labelAxis(labels, xLabel), valueAxis(yLabel, whole)],
      series: [{label: xLabel, value: (u, v) => (v === null || labels[v] === undefined ? "–" : labels[v])},
               ...columns.map(([label, colour, kind]) => series(label, colour, kind))],
      legend: {live: true},
    };
    const data = [labels.map((_, i) => i), ...columns.map((c) => c[3])];
    return draw(id, opts, data, title + "|" + labels.join("|"));
  }

  // A day's label: 23/11 (the year when the range crosses one).
  function dayLabels(days) {
    const years = new Set(days.map((d) => d.slice(0, 4)));
    return days.map((d) => d.slice(8, 10) + "/" + d.slice(5, 7) + (years.size > 1 ? "/" + d.slice(2, 4) : ""));
  }
  // The place a center has on a chart's axis: its ward, and its site when not the main one.
  function placeLabel(r) { return r.site && r.site !== "main" ? r.ward + " · " + r.site : r.ward; }

  // The two charts of a range's days (overview and day by day): tickets, then waits.
  function trend(ids, days, threshold) {
    const labels = dayLabels(days.map((d) => d.day));
    places(ids[0], W.chart_days_issued, labels, W.day, W.tickets, true, [
      [W.issued, COLOUR.blue, "bar", days.map((d) => d.issued)],
      [W.resolved, COLOUR.green, "narrow", days.map((d) => d.resolved)],
    ]);
    places(ids[1], W.chart_days_wait, labels, W.day, W.minutes, true, [
      [W.avg_wait, COLOUR.blue, "line", days.map((d) => d.avg_wait_min)],
      [W.p90_wait, COLOUR.orange, "line", days.map((d) => d.p90_wait_min)],
      [W.threshold_line + " " + Dash.fmt(threshold), COLOUR.grey, "dash", days.map(() => threshold)],
    ]);
  }

  // P90 wait per place: over the threshold in red and named so in the legend, within it in blue.
  function p90s(id, title, rows, threshold) {
    places(id, title, rows.map(placeLabel), W.center, W.minutes, true, [
      [W.breach, COLOUR.red, "bar", rows.map((r) => (r.breach ? r.p90_wait_min : null))],
      [W.within, COLOUR.blue, "bar", rows.map((r) => (r.breach ? null : r.p90_wait_min))],
      [W.threshold_line + " " + Dash.fmt(threshold), COLOUR.grey, "dash", rows.map(() => threshold)],
    ]);
  }

  // The centers shown, side by side: tickets issued and resolved on the spot, and P90 waits.
  function centers(ids, rows, threshold) {
    places(ids[0], W.chart_centers_issued, rows.map(placeLabel), W.center, W.tickets, true, [
      [W.issued, COLOUR.blue, "bar", rows.map((r) => r.issued)],
      [W.resolved, COLOUR.green, "narrow", rows.map((r) => r.resolved)],
    ]);
    p90s(ids[1], W.chart_centers_p90, rows, threshold);
  }

  return {centers, words: W, draw, places, trend, p90s, placeLabel, dayLabels, valueAxis, fromZero, COLOUR, made};
})();

// The fleet page: /api/devices every 5 s, drawn as a table and a list of alerts (Vietnamese), on
// the center's clock (the report's `now` and time zone: the demo's simulated day, not this PC's).
"use strict";
const ROLES = { kiosk: "Máy lấy số", counter: "Bảng quầy", hall: "Màn hình phòng chờ" };
const STATES = { online: "Trực tuyến", lost: "Mất kết nối", unknown: "Chưa thấy" };
const PAPER = { ok: "Đủ giấy", low: "Sắp hết giấy", out: "Hết giấy" };

// Each cell carries its column's heading, which a phone shows beside it (devices.css: one card per board).
const HEADINGS = [...document.querySelectorAll("#devices thead th")].map((th) => th.textContent);

function cell(row, text, cls) {
  const td = row.insertCell();
  td.dataset.label = HEADINGS[td.cellIndex];
  td.textContent = text === null || text === undefined ? "—" : String(text);
  if (cls) td.className = cls;
  return td;
}

function ago(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 90) return `${Math.round(seconds)} giây trước`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} phút trước`;
  return `${Math.round(seconds / 3600).toLocaleString("vi-VN")} giờ trước`;
}

function version(d) {
  if (!d.app) return null;
  let text = d.bundle ? `${d.app} (${d.bundle})` : d.app;
  if (d.trial) text += " · đang thử";
  if (d.update_failed) text += ` · cập nhật ${d.update_failed} lỗi, đã quay lại`;
  return text;
}

// A kiosk's paper as its last `tele` said; when it has said nothing usable, "chưa báo" and how long ago it last spoke.
function paper(d) {
  if (PAPER[d.paper]) return [PAPER[d.paper], `paper paper-${d.paper}`];
  if (d.paper === "unknown") return [`Chưa báo: máy in không trả lời (${ago(d.tele_s)})`, "paper paper-unknown"];
  if (d.tele_s !== null && d.tele_s !== undefined) return [`Chưa báo (tin cuối ${ago(d.tele_s)})`, "paper paper-unknown"];
  const seen = d.last_seen_s === null || d.last_seen_s === undefined ? "chưa thấy thiết bị" : `thấy ${ago(d.last_seen_s)}`;
  return [`Chưa báo (${seen})`, "paper paper-unknown"];
}

function clock(report) {
  const zone = report.center.timezone;
  const at = new Date(report.now * 1000);
  const time = at.toLocaleTimeString("vi-VN", { timeZone: zone, hour: "2-digit", minute: "2-digit", hour12: false });
  const day = at.toLocaleDateString("vi-VN", { timeZone: zone, weekday: "long", day: "2-digit", month: "2-digit", year: "numeric" });
  document.getElementById("center-name").textContent = report.center.name;
  document.getElementById("center-time").textContent = `Giờ trung tâm: ${time}, ${day}`;
  const opening = document.getElementById("opening");
  opening.textContent = report.open ? "Đang giờ làm việc" : "Ngoài giờ làm việc";
  opening.className = report.open ? "open" : "closed";
}

function draw(report) {
  clock(report);
  const body = document.querySelector("#devices tbody");
  body.replaceChildren();
  for (const d of report.devices) {
    const row = body.insertRow();
    row.dataset.device = d.device;
    const bad = d.status !== "online" || d.paper === "out" || d.paper === "low" || d.update_failed;
    if (bad) row.className = "bad";
    cell(row, d.device);
    cell(row, ROLES[d.role] || d.role);
    cell(row, d.binding);
    cell(row, STATES[d.status] || d.status, `state state-${d.status}`);
    cell(row, version(d), d.update_failed ? "version failed" : "version");
    cell(row, ago(d.last_seen_s), "num");
    cell(row, d.rssi === null || d.rssi === undefined ? null : `${d.rssi} dBm`, "num");
    if (d.role === "kiosk") cell(row, ...paper(d)); else cell(row, "");
    cell(row, d.reconnects, "num");
    cell(row, d.outbox, "num");
    cell(row, d.chip_c === null || d.chip_c === undefined ? null : `${d.chip_c} °C`, "num");
  }
  const list = document.getElementById("alerts");
  list.replaceChildren();
  for (const a of report.alerts) {
    const li = document.createElement("li");
    li.className = "device" in a ? "board" : "queue";  // the queue's name a service, in red and tagged
    li.dataset.kind = a.kind;
    if (li.className === "queue") {
      const tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = "Hàng chờ";
      li.append(tag, " ");
    }
    li.append(a.message);
    list.append(li);
  }
  if (!report.alerts.length) {
    const li = document.createElement("li");
    li.className = "none";
    li.textContent = report.open ? "Không có cảnh báo." : "Ngoài giờ làm việc: không cảnh báo.";
    list.append(li);
  }
}

async function refresh() {
  const stamp = document.getElementById("updated");
  try {
    const response = await fetch("/api/devices", { cache: "no-store" });
    if (!response.ok) throw new Error(response.status);
    draw(await response.json());
    stamp.textContent = "";
    stamp.className = "";
  } catch (e) {
    stamp.textContent = "Mất kết nối với gateway, đang thử lại…";
    stamp.className = "lost";
  }
}

refresh();
setInterval(refresh, 5000);

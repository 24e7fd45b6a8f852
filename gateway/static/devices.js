// The fleet page: /api/devices every 5 s, drawn as a table and a list of alerts (Vietnamese).
"use strict";
const ROLES = { kiosk: "Máy lấy số", counter: "Bảng quầy", hall: "Màn hình phòng chờ" };
const STATES = { online: "Trực tuyến", lost: "Mất kết nối", unknown: "Chưa thấy" };
const PAPER = { ok: "Đủ", low: "Sắp hết", out: "Hết", unknown: "Chưa rõ" };

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text === null || text === undefined ? "—" : String(text);
  if (cls) td.className = cls;
  return td;
}

function ago(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 90) return `${Math.round(seconds)} giây trước`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} phút trước`;
  return `${Math.round(seconds / 3600)} giờ trước`;
}

function version(d) {
  if (!d.app) return null;
  let text = d.bundle ? `${d.app} (${d.bundle})` : d.app;
  if (d.trial) text += " · đang thử";
  if (d.update_failed) text += ` · cập nhật ${d.update_failed} lỗi, đã quay lại`;
  return text;
}

function draw(report) {
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
    cell(row, d.role === "kiosk" ? PAPER[d.paper] || d.paper : "", `paper paper-${d.paper}`);
    cell(row, d.reconnects, "num");
    cell(row, d.outbox, "num");
    cell(row, d.chip_c === null || d.chip_c === undefined ? null : `${d.chip_c} °C`, "num");
  }
  const list = document.getElementById("alerts");
  list.replaceChildren();
  for (const a of report.alerts) {
    const li = document.createElement("li");
    li.textContent = a.message;
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
    stamp.textContent = `Cập nhật lúc ${new Date().toLocaleTimeString("vi-VN")}`;
    stamp.className = "";
  } catch (e) {
    stamp.textContent = "Mất kết nối với gateway, đang thử lại…";
    stamp.className = "lost";
  }
}

refresh();
setInterval(refresh, 5000);

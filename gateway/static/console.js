// The counter console: the keypad's actions, one request id per click (a double click acts once).
// Each refresh brings every key's reason it cannot act now (decided by the gateway's core): such
// a key is disabled and its reason shown under it, so nobody presses only to be told no.
"use strict";
const csrf = document.body.dataset.csrf;
const STATUS_VI = { open: "Quầy đang mở", paused: "Quầy tạm dừng", closed: "Quầy đóng" };
const serviceNames = Object.fromEntries(
  Array.from(document.querySelectorAll("#to-service option"), (o) => [o.value, o.textContent]));
let busy = false;  // while a key's request is out, every key waits: the next refresh tells what is possible

function requestId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);  // works on plain http, unlike randomUUID
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function show(message, isError) {
  const el = document.getElementById("message");
  el.textContent = message;
  el.className = isError ? "error" : "done";
}

function showKeys(reasons) {
  document.querySelectorAll("button[data-key]").forEach((b) => {
    const why = reasons ? reasons[b.dataset.key] : null;
    b.disabled = busy || Boolean(why);
    document.getElementById(`why-${b.dataset.key}`).textContent = why || "";
  });
}

function offerOtherServices(current) {
  // a ticket moves to another service: its own is not offered, and another is chosen for the clerk
  const select = document.getElementById("to-service");
  for (const o of select.options) o.disabled = o.value === current;
  if (select.selectedOptions[0]?.disabled) select.value = [...select.options].find((o) => !o.disabled)?.value;
}

async function refresh() {
  try {
    const r = await fetch("/console/state", { cache: "no-store" });
    if (r.status === 401) { location.reload(); return; }
    const s = await r.json();
    document.getElementById("heading").textContent = s.heading;
    document.getElementById("ticket").textContent = s.ticket || "—";
    document.getElementById("service").textContent = s.service || "";
    document.getElementById("status").textContent = STATUS_VI[s.status] || s.status;
    document.getElementById("waiting").replaceChildren(...Object.entries(s.waiting).map(([code, n]) => {
      const li = document.createElement("li");
      li.textContent = `${serviceNames[code] || code}: ${n.toLocaleString("vi-VN")} người`;
      return li;
    }));
    offerOtherServices(s.service_code);
    showKeys(s.keys);
  } catch (e) { show("Mất kết nối với máy chủ, đang thử lại…", true); }
}

async function act(button) {
  const body = { action: button.dataset.action, request_id: requestId() };
  if (button.dataset.outcome) body.outcome = button.dataset.outcome;
  if (button.dataset.with === "to_service") body.to_service = document.getElementById("to-service").value;
  if (button.dataset.with === "forwarded_to") body.forwarded_to = document.getElementById("agency").value;
  busy = true;
  showKeys(null);
  try {
    for (let attempt = 0; attempt < 3; attempt++) {  // the same request id: a retry never acts twice
      try {
        const r = await fetch("/console/action", {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
          body: JSON.stringify(body),
        });
        const answer = await r.json();
        show(answer.message || (answer.ok ? "Đã thực hiện." : "Không thực hiện được."), !answer.ok);
        break;
      } catch (e) { show("Mất kết nối, đang thử lại…", true); }
    }
  } finally {
    busy = false;
    refresh();
  }
}

document.querySelectorAll("button[data-key]").forEach((b) => b.addEventListener("click", () => act(b)));
setInterval(refresh, 3000);
refresh();

// The counter console: the keypad's actions, one request id per click (a double click acts once).
"use strict";
const csrf = document.body.dataset.csrf;
const STATE_VI = { called: "Đã gọi, chờ công dân đến", serving: "Đang phục vụ" };
const STATUS_VI = { open: "Đang mở", paused: "Tạm dừng", closed: "Đóng" };

function requestId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);  // works on plain http, unlike randomUUID
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function show(message, isError) {
  const el = document.getElementById("message");
  el.textContent = message;
  el.className = isError ? "error" : "";
}

async function refresh() {
  try {
    const r = await fetch("/console/state", { cache: "no-store" });
    if (r.status === 401) { location.reload(); return; }
    const s = await r.json();
    document.getElementById("ticket").textContent = s.ticket || "—";
    document.getElementById("ticket-state").textContent = STATE_VI[s.ticket_state] || "";
    document.getElementById("status").textContent = STATUS_VI[s.status] || s.status;
    document.getElementById("waiting").replaceChildren(...Object.entries(s.waiting).map(([code, n]) => {
      const li = document.createElement("li"); li.textContent = `${code}: ${n}`; return li;
    }));
  } catch (e) { show("Mất kết nối với máy chủ, đang thử lại…", true); }
}

async function act(button) {
  const body = { action: button.dataset.action, request_id: requestId() };
  if (button.dataset.outcome) body.outcome = button.dataset.outcome;
  if (button.dataset.with === "to_service") body.to_service = document.getElementById("to-service").value;
  if (button.dataset.ask) {
    const answer = prompt(button.dataset.question);
    if (!answer) return;
    body[button.dataset.ask] = answer;
  }
  button.disabled = true;
  try {
    for (let attempt = 0; attempt < 3; attempt++) {  // the same request id: a retry never acts twice
      try {
        const r = await fetch("/console/action", {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
          body: JSON.stringify(body),
        });
        const answer = await r.json();
        if (answer.ok) show(answer.ticket ? `Số ${answer.ticket}` : "Đã thực hiện", false);
        else show(answer.message || "Không thực hiện được", true);
        break;
      } catch (e) { show("Mất kết nối, đang thử lại…", true); }
    }
  } finally {
    button.disabled = false;
    refresh();
  }
}

document.querySelectorAll("button[data-action]").forEach((b) => b.addEventListener("click", () => act(b)));
setInterval(refresh, 3000);
refresh();

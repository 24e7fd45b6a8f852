// The hall page: live over server-sent events, and never needs a reload.
// EventSource reconnects by itself; a watchdog also reopens the stream when it goes silent
// (a proxy or a half-dead Wi-Fi link can keep a socket open that carries nothing).
"use strict";
const SILENCE_MS = 15000;
let source = null;
let lastBeat = Date.now();
let lastCall = null;
let rendered = false;  // the first view after loading shows calls made earlier: no highlight

function text(id, value) { document.getElementById(id).textContent = value; }

function render(view) {
  text("center", view.center);
  const latest = view.calls[0];
  const key = latest ? latest.ticket + "@" + latest.counter : null;
  text("now-ticket", latest ? latest.ticket : "—");
  text("now-counter", latest ? String(latest.counter) : "—");
  if (key && key !== lastCall && rendered) {
    const now = document.getElementById("now");
    now.classList.remove("new"); void now.offsetWidth; now.classList.add("new");
  }
  const calls = document.getElementById("calls");
  calls.replaceChildren(...view.calls.slice(1).map((c) => {
    const li = document.createElement("li");
    const t = document.createElement("span"); t.textContent = c.ticket;
    const q = document.createElement("span"); q.textContent = "Quầy " + c.counter;
    li.append(t, q);
    return li;
  }));
  const body = document.querySelector("#waiting tbody");
  body.replaceChildren(...view.waiting.map((s) => {
    const tr = document.createElement("tr");
    const name = document.createElement("td"); name.textContent = s.code + " · " + s.name;
    const count = document.createElement("td"); count.className = "count"; count.textContent = s.count;
    tr.append(name, count);
    return tr;
  }));
  lastCall = key;
  rendered = true;
}

function linkState(ok) {
  const footer = document.getElementById("link");
  footer.className = ok ? "ok" : "lost";
  footer.textContent = ok ? "Đã kết nối" : "Mất kết nối với máy chủ, đang thử lại…";
}

function connect() {
  if (source) source.close();
  source = new EventSource("/hall/events");
  source.onopen = () => { lastBeat = Date.now(); linkState(true); window.hangchoOpens = (window.hangchoOpens || 0) + 1; };
  source.onmessage = (e) => { lastBeat = Date.now(); linkState(true); render(JSON.parse(e.data)); };
  source.addEventListener("ping", () => { lastBeat = Date.now(); });
  source.onerror = () => {
    linkState(false);
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 1000);
  };
}

setInterval(() => { if (Date.now() - lastBeat > SILENCE_MS) { lastBeat = Date.now(); connect(); } }, 1000);
function tick() {
  text("clock", new Date().toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit" }));
}
setInterval(tick, 1000);
tick();
connect();

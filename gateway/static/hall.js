// The hall page: live over server-sent events, and never needs a reload.
// EventSource reconnects by itself; a watchdog also reopens the stream when it goes silent
// (a proxy or a half-dead Wi-Fi link can keep a socket open that carries nothing).
// Calls that arrive together each get FOCUS_MS in the middle of the screen, one after another.
// The clock is the center's: each message carries the gateway's time and how fast it runs (the
// demo's simulated day runs faster), shown in the center's time zone.
"use strict";
const SILENCE_MS = 15000;
const FOCUS_MS = 6000;
const SIDE_CALLS = 3;
let source = null;
let lastBeat = Date.now();
let rendered = false;  // the first view after loading shows calls made earlier: no highlight
let previous = [];  // the keys of the last view's calls
let pending = [];  // new calls waiting for their moment, oldest first
let focusUntil = 0;
let shown = null;
let latest = null;
let clock = null;  // {at: the center's epoch ms, local: Date.now() then, rate}
let advanceTimer = null;

const key = (c) => c.ticket + "@" + c.counter;
function text(id, value) { document.getElementById(id).textContent = value; }

function show(call, flash) {
  shown = call;
  text("now-ticket", call ? call.ticket : "—");
  text("now-counter", call ? String(call.counter) : "—");
  const mark = document.getElementById("now-priority");
  mark.hidden = !(call && call.priority);
  mark.textContent = call && call.priority ? "Ưu tiên · " + call.priority : "";
  const now = document.getElementById("now");
  if (flash) { now.classList.remove("new"); void now.offsetWidth; now.classList.add("new"); }
  renderSide();
}

function renderSide() {
  if (!latest) return;
  const others = latest.calls.filter((c) => !shown || key(c) !== key(shown)).slice(0, SIDE_CALLS);
  document.getElementById("calls").replaceChildren(...others.map((c) => {
    const li = document.createElement("li");
    const t = document.createElement("span"); t.textContent = c.ticket;
    li.append(t);
    if (c.priority) {
      const m = document.createElement("span"); m.className = "mark"; m.textContent = "Ưu tiên"; li.append(m);
    }
    const q = document.createElement("span"); q.textContent = "Quầy " + c.counter;
    li.append(q);
    return li;
  }));
}

function advance() {
  clearTimeout(advanceTimer);
  const wait = focusUntil - Date.now();
  if (wait > 0) { advanceTimer = setTimeout(advance, wait); return; }
  if (pending.length) {
    show(pending.shift(), true);
    focusUntil = Date.now() + FOCUS_MS;
    advanceTimer = setTimeout(advance, FOCUS_MS);
    return;
  }
  document.getElementById("now").classList.remove("new");  // the moment is over
  const top = latest && latest.calls[0];
  if (!shown || !top || key(top) !== key(shown)) show(top || null, false);
}

function render(view) {
  latest = view;
  text("center", view.center);
  if (view.now) setClock(view.now, view.clock_rate);
  const keys = view.calls.map(key);
  if (rendered) {
    const fresh = view.calls.filter((c, i) => !previous.includes(key(c)) || (i === 0 && previous[0] !== key(c)));
    for (const c of fresh.reverse()) if (!pending.some((p) => key(p) === key(c))) pending.push(c);
  }
  previous = keys;
  rendered = true;
  renderSide();
  const body = document.querySelector("#waiting tbody");
  body.replaceChildren(...view.waiting.map((s) => {
    const tr = document.createElement("tr");
    const name = document.createElement("td"); name.className = "name"; name.textContent = s.code + " · " + s.name;
    const count = document.createElement("td"); count.className = "count"; count.textContent = s.count;
    tr.append(name, count);
    return tr;
  }));
  advance();
}

function setClock(at, rate) { clock = { at, local: Date.now(), rate: rate || 1 }; tick(); }

function tick() {
  if (!clock) { text("clock", ""); return; }
  const now = new Date(clock.at + (Date.now() - clock.local) * clock.rate);
  const zone = document.body.dataset.timezone || undefined;
  text("clock", now.toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit", timeZone: zone }));
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
  source.addEventListener("ping", (e) => {
    lastBeat = Date.now();
    const beat = JSON.parse(e.data || "{}");
    if (beat.now) setClock(beat.now, beat.clock_rate);
  });
  source.onerror = () => {
    linkState(false);
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 1000);
  };
}

setInterval(() => { if (Date.now() - lastBeat > SILENCE_MS) { lastBeat = Date.now(); connect(); } }, 1000);
setInterval(tick, 1000);
tick();
connect();

// The voice recording page: record a clip with the microphone, listen, save (gateway/voice_admin.py).
// The sound is taken raw from a ScriptProcessor and sent as a 16-bit mono WAV, which the gateway
// checks, converts to the pack's rate and levels; nothing here needs a codec.
"use strict";

const csrf = document.querySelector('meta[name="csrf"]').content;
const maxSeconds = Number(document.querySelector('meta[name="max-seconds"]').content) - 0.5;
const message = document.getElementById("message");
const player = new Audio();
let take = null; // {row, rate, samples: Float32Array[]}
let recorder = null; // {row, ctx, stream, node, chunks, timer}

function say(text, error = false) {
  message.textContent = text;
  message.className = error ? "error" : "";
}

function summary() {
  const rows = [...document.querySelectorAll("#clips tbody tr")];
  const done = rows.filter((r) => r.dataset.source === "center").length;
  document.getElementById("summary").textContent = `Đã ghi ${done}/${rows.length} đoạn.`;
}

function wav(chunks, rate) {
  const length = chunks.reduce((n, c) => n + c.length, 0);
  const view = new DataView(new ArrayBuffer(44 + 2 * length));
  const text = (at, s) => [...s].forEach((ch, i) => view.setUint8(at + i, ch.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + 2 * length, true);
  text(8, "WAVEfmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, rate, true);
  view.setUint32(28, 2 * rate, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, 2 * length, true);
  let at = 44;
  for (const chunk of chunks) {
    for (const x of chunk) {
      view.setInt16(at, Math.max(-1, Math.min(1, x)) * 32767, true);
      at += 2;
    }
  }
  return new Blob([view], { type: "audio/wav" });
}

async function start(row) {
  if (recorder) return stop();
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false } });
    const ctx = new AudioContext();
    const source = ctx.createMediaStreamSource(stream);
    const node = ctx.createScriptProcessor(4096, 1, 1);
    const chunks = [];
    node.onaudioprocess = (e) => chunks.push(new Float32Array(e.inputBuffer.getChannelData(0)));
    source.connect(node);
    node.connect(ctx.destination);
    recorder = { row, ctx, stream, node, chunks, timer: setTimeout(stop, maxSeconds * 1000) };
    row.querySelector(".record").textContent = "■ Dừng";
    row.querySelector(".record").classList.add("recording");
    say(`Đang ghi: đọc “${row.querySelector(".text").textContent}” rồi bấm Dừng.`);
  } catch (e) {
    say(`Không mở được micrô: ${e.message}`, true);
  }
}

function stop() {
  const r = recorder;
  if (!r) return;
  recorder = null;
  clearTimeout(r.timer);
  r.node.disconnect();
  r.stream.getTracks().forEach((t) => t.stop());
  take = { row: r.row, rate: r.ctx.sampleRate, chunks: r.chunks };
  r.ctx.close();
  const button = r.row.querySelector(".record");
  button.textContent = "● Ghi lại";
  button.classList.remove("recording");
  document.querySelectorAll("button.listen, button.save").forEach((b) => (b.disabled = true));
  r.row.querySelector(".listen").disabled = false;
  r.row.querySelector(".save").disabled = false;
  const seconds = r.chunks.reduce((n, c) => n + c.length, 0) / take.rate;
  say(`Bản ghi dài ${seconds.toFixed(1).replace(".", ",")} giây: nghe lại, rồi Lưu hoặc Ghi lại.`);
}

function listen(row) {
  if (!take || take.row !== row) return;
  const ctx = new AudioContext();
  const length = take.chunks.reduce((n, c) => n + c.length, 0);
  const buffer = ctx.createBuffer(1, Math.max(1, length), take.rate);
  let at = 0;
  for (const c of take.chunks) {
    buffer.copyToChannel(c, 0, at);
    at += c.length;
  }
  const src = ctx.createBufferSource();
  src.buffer = buffer;
  src.connect(ctx.destination);
  src.onended = () => ctx.close();
  src.start();
}

async function save(row) {
  if (!take || take.row !== row) return;
  const key = row.dataset.key;
  say("Đang lưu…");
  try {
    const r = await fetch(`/voice/clip/${encodeURIComponent(key)}`, {
      method: "POST",
      headers: { "Content-Type": "audio/wav", "X-CSRF-Token": csrf },
      body: wav(take.chunks, take.rate),
      credentials: "same-origin",
    });
    const body = await r.json();
    if (!body.ok) return say(body.message, true);
    row.dataset.source = "center";
    row.querySelector(".state").textContent = "Đã ghi";
    row.querySelector(".listen").disabled = true;
    row.querySelector(".save").disabled = true;
    take = null;
    summary();
    say(body.message);
  } catch (e) {
    say(`Không gửi được bản ghi: ${e.message}`, true);
  }
}

function play(url) {
  player.src = `${url}${url.includes("?") ? "&" : "?"}t=${Date.now()}`;
  player.play().catch((e) => say(`Không phát được: ${e.message}`, true));
}

document.getElementById("clips").addEventListener("click", (e) => {
  const button = e.target.closest("button");
  const row = e.target.closest("tr");
  if (!button || !row) return;
  if (button.classList.contains("record")) start(row);
  else if (button.classList.contains("listen")) listen(row);
  else if (button.classList.contains("save")) save(row);
  else if (button.classList.contains("current")) play(`/voice/clip/${encodeURIComponent(row.dataset.key)}.wav`);
});

document.getElementById("try").addEventListener("click", () => {
  const ticket = document.getElementById("try-ticket").value.trim().toUpperCase();
  const counter = document.getElementById("try-counter").value.trim();
  play(`/voice/call.wav?ticket=${encodeURIComponent(ticket)}&counter=${encodeURIComponent(counter)}`);
});

summary();

"""The voice recording page: the admin PIN, hard checks on uploads, and a clip recorded in Chromium."""

from __future__ import annotations

import itertools
import re
import statistics
from dataclasses import replace

import pytest

from gateway.console import FREE_TRIES, PinThrottle
from gateway.hub import ViewHub
from gateway.voice import Announcer, folder_sink
from gateway.voice_clips import CLIPS
from gateway.voice_dsp import encode_wav
from gateway.voice_pack import MANIFEST, Voice, read_manifest
from gateway.web import WebServer, create_app
from rig.a11y import report, violations
from tests.conftest import _chromium, make_center
from tests.gateway.voice_helpers import RATE, Say, contains, samples_of, tone, write_pack

PIN = "4321"
HTTPS = "https://localhost"  # the LAN: the page is HTTPS only, as the console


@pytest.fixture
def voice(tmp_path):
    pack = write_pack(tmp_path / "pack", {k: tone(300 + 10 * i) for i, k in enumerate(CLIPS)})
    return Voice(pack, tmp_path / "center-voice", say=Say())


def app_for(voice, admin_pin=PIN):
    return create_app(ViewHub(), center=replace(make_center(), admin_pin=admin_pin), voice=voice,
                      secret_key=b"v" * 32)  # fmt: skip


def sign_in(client, pin=PIN):
    return client.post(f"{HTTPS}/voice/login", data={"pin": pin})


def csrf_of(client) -> str:
    return re.search(r'name="csrf" content="([^"]+)"', client.get(f"{HTTPS}/voice").text).group(1)


def pitch(clip, window_s: float = 0.05) -> float:
    """The median tone of the loud 50 ms windows, by zero crossings: a browser starved of CPU may drop
    a few buffers, which are silence, not another tone."""
    size = int(RATE * window_s)
    windows = [clip[i : i + size] for i in range(0, len(clip) - size, size)]
    loud = max(max(map(abs, w)) for w in windows) / 2
    rates = [sum(1 for a, b in itertools.pairwise(w) if a < 0 <= b) / window_s for w in windows if min(w) < -loud]
    return statistics.median(rates)


def test_the_admin_pin_opens_the_page(voice):
    client = app_for(voice).test_client()
    assert "Mã PIN quản trị" in client.get(f"{HTTPS}/voice").text
    wrong = sign_in(client, "1111")
    assert wrong.status_code == 403 and "Mã PIN không đúng" in wrong.text
    assert client.get(f"{HTTPS}/voice/clips").status_code == 401
    assert client.get(f"{HTTPS}/voice/clip/digit.1.wav").status_code == 401
    assert sign_in(client).status_code == 302
    page = client.get(f"{HTTPS}/voice").text
    assert "Mời công dân số" in page and "Đăng xuất" in page and page.count("<tr data-key=") == len(CLIPS)
    lan = app_for(voice).test_client()
    lan.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert lan.get("http://gateway/voice").status_code == 301  # plain HTTP from the LAN: sent to HTTPS
    closed = app_for(voice, admin_pin=None).test_client()
    assert "chưa đặt mã PIN quản trị" in closed.get(f"{HTTPS}/voice").text
    assert sign_in(closed, "").status_code == 403


def test_wrong_admin_pins_are_throttled_as_the_consoles(voice):
    now = [1000.0]
    app = app_for(voice)
    app.config["PIN_THROTTLE"] = PinThrottle(clock=lambda: now[0])
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "10.0.0.66"
    for _ in range(FREE_TRIES + 1):
        assert sign_in(guesser, "0000").status_code == 403
    held = sign_in(guesser)  # the right PIN waits too, and is not looked at
    assert held.status_code == 429 and held.headers["Retry-After"] == "1" and "thử lại sau 1 giây" in held.text
    admin = app.test_client()
    admin.environ_base["REMOTE_ADDR"] = "10.0.0.7"
    assert sign_in(admin).status_code == 302  # another machine is not held
    now[0] += 1.0
    assert sign_in(guesser).status_code == 302


def test_an_upload_needs_the_session_and_its_csrf_and_a_fit_recording(voice, tmp_path):
    client = app_for(voice).test_client()
    good = encode_wav(48000, tone(440, 1.0, rate=48000, pad_s=0.3))
    assert client.post(f"{HTTPS}/voice/clip/digit.1", data=good).status_code == 401
    sign_in(client)
    assert client.post(f"{HTTPS}/voice/clip/digit.1", data=good, headers={"X-CSRF-Token": "x"}).status_code == 400
    csrf = {"X-CSRF-Token": csrf_of(client)}
    bad = client.post(f"{HTTPS}/voice/clip/digit.1", data=b"RIFF\0\0\0\0WAVEjunk", headers=csrf)
    assert bad.status_code == 400 and "Không nhận bản ghi: không phải tệp WAV PCM" in bad.json["message"]
    assert client.post(f"{HTTPS}/voice/clip/digit.99", data=good, headers=csrf).status_code == 404
    big = client.post(f"{HTTPS}/voice/clip/digit.1", data=good + bytes(1 << 20), headers=csrf)
    assert big.status_code == 413
    assert not (tmp_path / "center-voice").exists()  # nothing refused was written
    saved = client.post(f"{HTTPS}/voice/clip/digit.1", data=good, headers=csrf)
    assert saved.status_code == 200 and saved.json["message"] == "Đã lưu “một”."
    assert read_manifest(tmp_path / "center-voice").clips == {"digit.1": ("digit.1.wav", "một")}
    assert sorted(p.name for p in (tmp_path / "center-voice").iterdir()) == ["digit.1.wav", MANIFEST]
    assert {"key": "digit.1", "text": "một", "source": "center"} in client.get(f"{HTTPS}/voice/clips").json
    rate, clip = samples_of(client.get(f"{HTTPS}/voice/clip/digit.1.wav").data)
    assert rate == RATE and clip == voice.clips["digit.1"]
    again = Voice(tmp_path / "pack", tmp_path / "center-voice", say=Say())  # after a restart, too
    assert again.source["digit.1"] == "center" and again.clips["digit.1"] == voice.clips["digit.1"]
    client.post(f"{HTTPS}/voice/logout", data={"csrf": csrf["X-CSRF-Token"]})
    assert client.get(f"{HTTPS}/voice/clips").status_code == 401


def test_a_clip_recorded_in_chromium_is_in_the_next_call(voice, tmp_path):
    """The page with Chromium's fake microphone playing a 660 Hz tone: record, listen, save; the next call has it."""
    mic = tmp_path / "mic.wav"
    mic.write_bytes(encode_wav(48000, tone(660, 2.0, amplitude=12000, rate=48000)))
    server = WebServer(app_for(voice), "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{server.port}/voice"  # this machine: a secure context, as HTTPS on the LAN
    args = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-audio-capture={mic}", "--autoplay-policy=no-user-gesture-required"]  # fmt: skip
    pages = _chromium(args)
    page = next(pages)
    try:
        from playwright.sync_api import expect

        page.goto(url)
        assert not (found := violations(page)), report(found)  # axe-core: the sign-in
        page.fill("input[name=pin]", "0000")
        page.click("button[type=submit]")
        expect(page.locator(".error")).to_have_text("Mã PIN không đúng.")
        page.fill("input[name=pin]", PIN)
        page.click("button[type=submit]")
        row = page.locator('tr[data-key="digit.7"]')
        expect(row.locator(".state")).to_have_text("Giọng máy")
        expect(page.locator("#summary")).to_have_text(f"Đã ghi 0/{len(CLIPS)} đoạn.")
        assert not (found := violations(page)), report(found)  # axe-core: the recording page
        row.locator(".record").click()
        took = "recorder && recorder.chunks.reduce((n, c) => n + c.length, 0) / recorder.ctx.sampleRate"
        page.wait_for_function(f"() => ({took}) > 1.2", timeout=15_000)  # 1.2 s of the microphone
        row.locator(".record").click()  # stop
        expect(row.locator(".record")).to_have_text("● Ghi lại")
        row.locator(".listen").click()
        row.locator(".save").click()
        expect(page.locator("#message")).to_have_text("Đã lưu “bảy”.", timeout=10_000)
        expect(row.locator(".state")).to_have_text("Đã ghi")
        expect(page.locator("#summary")).to_have_text(f"Đã ghi 1/{len(CLIPS)} đoạn.")
        page.reload()
        expect(page.locator('tr[data-key="digit.7"] .state')).to_have_text("Đã ghi")
    finally:
        next(pages, None)
        server.stop()
    assert voice.source["digit.7"] == "center"
    _, clip = samples_of((tmp_path / "center-voice" / "digit.7.wav").read_bytes())
    assert abs(pitch(clip) - 660) < 20  # the microphone's tone, at the pack's rate
    folder = tmp_path / "calls"
    announcer = Announcer(folder_sink(folder, realtime=False), voice.call_wav)
    announcer.announce("A077", 7)
    announcer.drain()
    announcer.close()
    (call,) = folder.glob("*.wav")
    _, out = samples_of(call.read_bytes())
    assert contains(out, voice.clips["digit.7"][voice.fade : -voice.fade])  # the recording, levelled, in the call

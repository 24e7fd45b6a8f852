"""The gateway's pages through Flask's test client."""

from __future__ import annotations

import json
import time

from gateway.hub import ViewHub
from gateway.views import hall_view
from gateway.web import create_app


def test_ticket_status_page_and_json(desk):
    ticket = desk.issue("A")
    desk.issue("A")
    day = desk.state.day
    client = create_app(ViewHub(), lambda fn: fn(desk.state)).test_client()
    page = client.get(f"/t/{day}/{ticket}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Chứng thực" in html and ticket in html and "Đang chờ" in html
    data = client.get(f"/t/{day}/A002.json").get_json()
    assert (data["ahead"], data["state"]) == (1, "waiting")
    assert client.get(f"/t/{day}/Z001").status_code == 404
    assert "Không tìm thấy phiếu này hôm nay" in client.get(f"/t/{day}/Z001").get_data(as_text=True)
    assert client.get("/t/2020-01-01/A001.json").status_code == 404


def test_hall_stream_starts_with_the_whole_view(desk):
    hub = ViewHub()
    hub.publish("hall", hall_view(desk.state, []))
    response = create_app(hub).test_client().get("/hall/events", buffered=False)
    assert response.mimetype == "text/event-stream"
    chunks = response.response
    assert next(chunks) == b"retry: 1000\n\n"
    first = next(chunks).decode()
    assert first.startswith("id: 1\ndata: ") and '"center": "Trung tâm thử nghiệm"' in first
    hub.close()


def test_the_hall_stream_carries_the_centers_clock_and_its_rate(desk, center):
    """The hall shows the center's time, not the TV's: the demo's clock runs 20 times as fast."""
    from gateway.clock import ScaledClock

    hub = ViewHub()
    hub.publish("hall", hall_view(desk.state, []))
    clock = ScaledClock(start=1_795_000_000.0, factor=20.0, anchor=time.time())
    app = create_app(hub, center=center, clock=clock)
    assert 'data-timezone="Asia/Ho_Chi_Minh"' in app.test_client().get("/hall").get_data(as_text=True)
    chunks = app.test_client().get("/hall/events", buffered=False).response
    next(chunks)
    view = json.loads(next(chunks).decode().split("data: ", 1)[1])
    assert view["clock_rate"] == 20.0 and abs(view["now"] - clock() * 1000) < 60_000
    hub.close()


def test_every_answer_has_the_security_headers_and_hsts_only_over_https(desk):
    client = create_app(ViewHub(), lambda fn: fn(desk.state)).test_client()
    plain, secure = client.get("/hall"), client.get("https://localhost/hall")
    for answer in (plain, secure, client.get("/nowhere")):
        assert "script-src 'self';" in answer.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert answer.headers["X-Content-Type-Options"] == "nosniff" and answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert "Strict-Transport-Security" not in plain.headers
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_plain_http_from_the_lan_reaches_only_the_hall_and_ticket_pages(desk, center):
    app = create_app(ViewHub(), lambda fn: fn(desk.state), lambda c: None, center, https_port=8443)
    lan = app.test_client()
    lan.environ_base["REMOTE_ADDR"] = "192.0.2.10"
    assert lan.get("/hall").status_code == 200 and lan.get("/static/hall.js").status_code == 200
    assert lan.get(f"/t/{desk.state.day}/A001.json").status_code == 404  # served (no such ticket), not moved
    moved = lan.get("http://gw.local:8080/console?x=1")
    assert moved.status_code == 301 and moved.headers["Location"] == "https://gw.local:8443/console?x=1"
    refused = lan.post("/console/login", data={"counter": 1, "pin": "2468"})
    assert refused.status_code == 403 and "HTTPS" in refused.text  # the PIN came in the clear: not checked
    assert lan.get("https://gw.local/console").status_code == 200
    assert app.test_client().get("/console").status_code == 200  # this machine itself (loopback)


def test_hall_streams_are_capped_per_client_and_in_all(desk):
    from gateway.web import STREAMS_PER_CLIENT, STREAMS_TOTAL

    hub = ViewHub()
    app = create_app(hub)

    def stream(address):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        return client.get("/hall/events", buffered=False)

    mine = [stream("192.0.2.1") for _ in range(STREAMS_PER_CLIENT)]
    extra = stream("192.0.2.1")
    assert extra.status_code == 503 and extra.headers["Retry-After"] == "5" and "Quá nhiều" in extra.text
    others = [stream(f"192.0.2.{i}") for i in range(2, 2 + STREAMS_TOTAL - STREAMS_PER_CLIENT)]
    assert all(r.status_code == 200 for r in others)
    assert stream("192.0.2.250").status_code == 503  # the whole pool is taken
    mine[0].close()  # a TV goes away: its slot is free again, even though its stream was never read
    assert stream("192.0.2.250").status_code == 200
    hub.close()

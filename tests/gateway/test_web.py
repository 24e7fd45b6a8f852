"""The gateway's pages through Flask's test client."""

from __future__ import annotations

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

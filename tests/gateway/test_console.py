"""The staff console: PIN sign-in, CSRF, and the keypad's actions through the same worker."""

from __future__ import annotations

import re

import pytest

from gateway.web import create_app


@pytest.fixture
def console(gateway, center):
    app = create_app(gateway.hub, gateway.read, gateway.submit, center, secret_key=b"test" * 8)
    return app.test_client()


def sign_in(client, counter=1, pin="2468", via="http://localhost"):
    return client.post(f"{via}/console/login", data={"counter": counter, "pin": pin})


HTTPS = "https://localhost"  # a client on the LAN (not this machine's loopback) reaches the console only so


def csrf_of(client) -> str:
    return re.search(r'data-csrf="([^"]+)"', client.get("/console").get_data(as_text=True)).group(1)


def act(client, csrf, action, request_id="0123456789abcdef", **fields):
    return client.post(
        "/console/action", json={"action": action, "request_id": request_id, **fields}, headers={"X-CSRF-Token": csrf}
    )


def test_sign_in_needs_the_counters_pin(console):
    assert "Mã PIN" in console.get("/console").get_data(as_text=True)
    wrong = sign_in(console, pin="1111")
    assert wrong.status_code == 403 and "Mã PIN không đúng" in wrong.get_data(as_text=True)
    no_pin = sign_in(console, counter=2, pin="2468")  # counter 2 has no PIN: no console
    assert no_pin.status_code == 403
    assert sign_in(console).status_code == 302
    assert "Quầy 1" in console.get("/console").get_data(as_text=True)


def test_wrong_pins_slow_down_their_machine_not_the_counter(gateway, center):
    from gateway.console import FREE_TRIES, PinThrottle, delay_after

    now = [1000.0]
    app = create_app(gateway.hub, gateway.read, gateway.submit, center, secret_key=b"test" * 8)
    app.config["PIN_THROTTLE"] = PinThrottle(clock=lambda: now[0])
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "10.0.0.66"
    for _ in range(FREE_TRIES + 1):
        assert sign_in(guesser, pin="0000", via=HTTPS).status_code == 403
    held = sign_in(guesser, via=HTTPS)  # even the right PIN waits: the answer says how long, the PIN is not looked at
    assert held.status_code == 429 and held.headers["Retry-After"] == "1" and "thử lại sau 1 giây" in held.text
    clerk = app.test_client()
    clerk.environ_base["REMOTE_ADDR"] = "10.0.0.7"
    assert sign_in(clerk, via=HTTPS).status_code == 302  # another machine: the counter is not locked
    now[0] += 1.0
    assert sign_in(guesser, pin="0000", via=HTTPS).status_code == 403  # after the wait, which doubles
    assert sign_in(guesser, via=HTTPS).headers["Retry-After"] == "2"
    assert [delay_after(FREE_TRIES + n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    now[0] += 60
    assert sign_in(guesser, via=HTTPS).status_code == 302  # the same machine after a pause: in


def test_logout_and_a_pin_change_end_the_sign_in_for_good(gateway, center_with, tmp_path):
    from dataclasses import replace

    from gateway.console import COOKIE

    def app_for(config):
        return create_app(gateway.hub, gateway.read, gateway.submit, config, secret_key=b"k" * 32,
                          sessions=tmp_path / "sessions.db")  # fmt: skip

    center = center_with()
    client = app_for(center).test_client()
    sign_in(client)
    copied = client.get_cookie(COOKIE, path="/console").value
    other = app_for(center).test_client()  # a restart with the same PIN keeps the sign-in
    other.set_cookie(COOKIE, copied, path="/console")
    assert other.get("/console/state").status_code == 200
    client.post("/console/logout", data={"csrf": csrf_of(client)})
    other = app_for(center).test_client()
    other.set_cookie(COOKIE, copied, path="/console")
    assert other.get("/console/state").status_code == 401  # the copy made before logout is dead
    sign_in(client)
    copied = client.get_cookie(COOKIE, path="/console").value
    changed = replace(center, counters=tuple(replace(c, pin="9753") if c.number == 1 else c for c in center.counters))
    after = app_for(changed).test_client()  # a PIN change and a restart
    after.set_cookie(COOKIE, copied, path="/console")
    assert after.get("/console/state").status_code == 401


def test_actions_are_the_keypads(console, gateway, boards):
    kiosk = boards("kiosk-1")
    counter_board = boards("counter-1")
    kiosk.ack_for(kiosk.press(button=0))
    sign_in(console)
    csrf = csrf_of(console)
    assert act(console, csrf, "open", "00000000000000a1").get_json()["ok"]
    called = act(console, csrf, "next", "00000000000000a2").get_json()
    assert called == {"id": called["id"], "ok": True, "ticket": "A001", "message": "Đã gọi số A001 đến quầy 1."}
    counter_board.wait_for("display", lambda b: b["text"] == "A001")  # the same display as a key press
    again = act(console, csrf, "next", "00000000000000a2")  # a double click: the same answer, no second call
    assert again.get_json() == called
    assert console.get("/console/state").get_json()["ticket"] == "A001"
    # call → complete, without "start" (an untrained clerk's way): service time counts from the call
    done = act(console, csrf, "complete", "00000000000000a5", outcome="forwarded", forwarded_to="Sở Tư pháp")
    assert done.get_json()["ok"]
    assert gateway.dispatcher.state.tickets["A001"].forwarded_to == "Sở Tư pháp"
    refused = act(console, csrf, "start", "00000000000000a3")  # nobody at the counter now
    assert refused.status_code == 409 and refused.get_json()["error"] == "illegal_transition"
    kiosk.ack_for(kiosk.press(button=0))
    assert act(console, csrf, "next", "00000000000000a6").get_json()["ticket"] == "A002"
    assert act(console, csrf, "start", "00000000000000a7").get_json()["ok"]  # the full way still works
    assert act(console, csrf, "complete", "00000000000000a8").get_json()["ok"]
    assert gateway.dispatcher.state.tickets["A002"].started_at is not None


def test_no_action_without_session_or_csrf(console):
    assert act(console, "x", "next").status_code == 401
    sign_in(console)
    assert act(console, "forged", "next").status_code == 400
    assert act(console, csrf_of(console), "next", request_id="short").status_code == 400
    assert act(console, csrf_of(console), "fly", "00000000000000b1").get_json()["error"] == "malformed"


def test_sign_out(console):
    sign_in(console)
    csrf = csrf_of(console)
    console.post("/console/logout", data={"csrf": csrf})
    assert console.get("/console/state").status_code == 401


def test_a_full_journal_is_a_clear_503_and_nothing_changes(console, gateway):
    sign_in(console)
    csrf = csrf_of(console)
    db = gateway.dispatcher.journal.db
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")  # SQLITE_FULL
    for i in range(1000):  # open and pause until the journal's last page is full
        before = gateway.dispatcher.state.counters[1].status
        answer = act(console, csrf, ("open", "pause")[i % 2], f"{i:016x}")
        if answer.status_code != 200:
            break
    assert answer.status_code == 503 and answer.get_json()["error"] == "journal", answer.get_json()
    assert "ổ đĩa đầy" in answer.get_json()["message"]
    assert gateway.dispatcher.state.counters[1].status == before  # nothing was recorded, nothing changed
    db.execute("PRAGMA max_page_count = 1073741823")
    assert act(console, csrf, ("open", "pause")[i % 2], "ffffffffffffffff").get_json()["ok"]


def test_the_state_says_what_each_key_can_do_and_the_agency_is_one_of_the_centers(console, gateway, boards):
    kiosk = boards("kiosk-1")
    kiosk.ack_for(kiosk.press(button=0))
    sign_in(console)
    csrf = csrf_of(console)
    page = console.get("/console").get_data(as_text=True)
    assert page.index("Gọi số tiếp theo") < page.index("Hoàn tất tại chỗ") < page.index("Bắt đầu phục vụ")
    assert '<option value="B">Hộ tịch' in page and "<option>Sở Tư pháp</option>" in page  # names, and the list
    state = console.get("/console/state").get_json()
    assert state["keys"]["next"] == "Quầy 1 đang đóng, cần mở quầy trước" and state["keys"]["open"] is None
    assert act(console, csrf, "open", "00000000000000c1").get_json()["message"] == "Quầy đã mở: sẵn sàng gọi số."
    act(console, csrf, "next", "00000000000000c2")
    state = console.get("/console/state").get_json()
    assert (state["ticket"], state["heading"], state["keys"]["resolved"]) == (
        "A001", "Đã gọi, chờ công dân đến quầy", None)  # fmt: skip
    assert state["service"] == "Chứng thực"
    made_up = act(console, csrf, "complete", "00000000000000c3", outcome="forwarded", forwarded_to="Nhà hàng xóm")
    assert made_up.status_code == 400 and "danh sách" in made_up.get_json()["message"]
    assert gateway.dispatcher.state.tickets["A001"].state == "called"  # refused: nothing changed
    moved = act(console, csrf, "transfer", "00000000000000c4", to_service="B").get_json()
    assert moved["message"] == f"Đã chuyển số A001 sang dịch vụ {gateway.dispatcher.state.services['B'].name}."

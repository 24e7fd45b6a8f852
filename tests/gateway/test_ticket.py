"""The printed ticket: raster blocks for Vietnamese text, native ESC/POS for the rest."""

from __future__ import annotations

import base64
import io
from dataclasses import replace

import pytest
from PIL import Image

from contracts.topics import BOARD_MESSAGE_MAX
from gateway.config import PRINTERS
from gateway.dispatch import IssueTicket, OpenCounter
from gateway.protocol import encode
from gateway.ticket import (
    Raster,
    blocks_rev,
    decode_escpos,
    escpos,
    plain,
    preview_png,
    printed_png,
    render_text,
    static_blocks,
    ticket_ops,
)
from gateway.ticket import test_ticket as identify_ticket


def test_vietnamese_text_becomes_a_raster_of_the_printer_width():
    r = render_text("Đất đai", PRINTERS["80mm"], 26, bold=True)
    assert r.width == 576 and len(r.data) == r.row_bytes * r.height
    assert any(r.data), "nothing was drawn"
    assert r.data != render_text("Dat dai", 576, 26, bold=True).data  # the accents are drawn
    narrow = render_text("Trung tâm Phục vụ hành chính công phường Phú Định", PRINTERS["58mm"], 24)
    assert narrow.width == 384 and narrow.height > r.height  # wrapped onto more lines


def test_plain_text_for_a_kiosk_without_the_block():
    assert plain("Đăng ký hộ kinh doanh") == "Dang ky ho kinh doanh"


def test_ticket_operations(desk, center):
    desk(IssueTicket("A", "cao_tuoi"))
    e = desk.events[-1]
    ops = ticket_ops(center, e, url="http://10.0.0.2:8080/t/A002")
    kinds = [op[0] if op[0] != "img" else op[1] for op in ops]
    assert kinds == [
        "center", "lbl:title", "svc:A", "big", "pri:cao_tuoi", "lbl:time", "txt", "lbl:ahead", "txt",
        "lbl:eta", "txt", "qr", "lbl:qr", "lbl:footer", "cut",
    ]  # fmt: skip
    assert ["big", e.ticket, 8] in ops  # as large as 80 mm paper allows: 8 × font A
    assert ["txt", f"{e.eta_low_min} - {e.eta_high_min}"] in ops
    assert all(op[2].isascii() for op in ops if op[0] == "img")


def test_unknown_wait_prints_as_unknown(center, desk_for):
    desk = desk_for(center, open_counters=False)
    desk(IssueTicket("C"))
    ops = ticket_ops(center, desk.events[-1])
    assert ["img", "lbl:unknown", "Chua xac dinh"] in ops
    assert not any(op[0] == "qr" for op in ops)


def test_escpos_bytes_decode_back_to_the_ticket(desk, center):
    desk(IssueTicket("B"))
    e = desk.events[-1]
    blocks = static_blocks(center, "80mm")
    ops = ticket_ops(center, e, url="http://10.0.0.2:8080/t/B001")
    data = escpos(ops, blocks)
    decoded = decode_escpos(data)
    assert decoded[:2] == [("init",), ("align", 1)]
    rasters = [op for op in decoded if op[0] == "raster"]
    assert rasters[0] == ("raster", 576, blocks["center"].height, blocks["center"].data)
    assert ("text", 0x77, "B001") in decoded  # the number, natively, eight times the size
    assert ("qr", "http://10.0.0.2:8080/t/B001") in decoded
    assert decoded[-1] == ("cut",)
    assert len(rasters) == sum(op[0] == "img" for op in ops)


def test_a_missing_block_prints_its_plain_text(desk, center):
    desk(IssueTicket("A"))
    ops = ticket_ops(center, desk.events[-1])
    decoded = decode_escpos(escpos(ops, {}))
    assert ("text", 0, "Chung thuc") in decoded


def test_blocks_rev_follows_the_texts(center, center_with):
    assert blocks_rev(center, "58mm") == blocks_rev(center, "58mm")
    assert blocks_rev(center, "58mm") != blocks_rev(center, "80mm")
    other = center_with(priority_limit=3)
    assert blocks_rev(other, "58mm") == blocks_rev(center, "58mm")  # rules are not printed


def test_preview_is_a_picture_of_the_ticket(desk, center, tmp_path):
    desk(OpenCounter(1))
    desk(IssueTicket("A", "cao_tuoi"))
    ops = ticket_ops(center, desk.events[-1], url="http://10.0.0.2:8080/t/A001")
    png = preview_png(ops, static_blocks(center, "58mm"), 384)
    image = Image.open(io.BytesIO(png))
    assert image.width == 384 and image.height > 400
    (tmp_path / "ticket.png").write_bytes(png)


@pytest.mark.parametrize("printer", sorted(PRINTERS))
def test_every_message_to_a_kiosk_fits_a_board_message(center, desk_for, printer):
    """Blocks go in parts that put back the whole raster; no block part, test ticket or ticket
    is larger than BOARD_MESSAGE_MAX, even for a long center name."""
    center = replace(center, name="Trung tâm Phục vụ hành chính công phường Nguyễn Thái Bình, Thành phố Hồ Chí Minh")
    test_blocks, test_ops = identify_ticket(center, printer)
    blocks = {**static_blocks(center, printer), **test_blocks}
    sizes = []
    for name, raster in blocks.items():
        assert isinstance(raster, Raster) and raster.width == PRINTERS[printer]
        parts = raster.to_messages(name, "3f9c0a1b2d4e")
        assert b"".join(base64.b64decode(p["data"]) for p in parts) == raster.data, name
        assert [p["y"] for p in parts] == sorted({p["y"] for p in parts}) and parts[0]["y"] == 0
        sizes += [len(encode({"exp": 1795394400, **p})) for p in parts]
    desk = desk_for(center)
    desk(IssueTicket("A", "cao_tuoi"))
    ops = ticket_ops(center, desk.events[-1], url="https://hangcho.example.gov.vn/t/2026-11-23/A001")
    sizes += [len(encode({"exp": 1795394400, "ticket": "A001", "ops": ops})), len(encode({"exp": 1, "ops": test_ops}))]
    assert max(sizes) <= BOARD_MESSAGE_MAX, max(sizes)
    assert len(sizes) > 2 * len(blocks), "the large blocks went in more than one part"


def test_native_commands_match_python_escpos(center):
    """python-escpos's Dummy printer is the oracle for the bytes of a QR code, a cut and a raster
    block; the firmware prints the same bytes as this encoder (tests/firmware/test_printer.py)."""
    from escpos.constants import QR_ECLEVEL_M, QR_MODEL_2
    from escpos.printer import Dummy

    from gateway.ticket import GS_CUT, qr_escpos

    url = "http://10.0.0.2:8080/t/2026-11-23/A001"
    oracle = Dummy()
    oracle.qr(url, native=True, size=6, ec=QR_ECLEVEL_M, model=QR_MODEL_2)
    assert qr_escpos(url) == oracle.output
    oracle = Dummy()
    oracle.cut(mode="PART", feed=False)
    assert oracle.output == GS_CUT
    block = render_text("Chứng thực", 384, 26, True)
    picture = Image.frombytes("1", (block.width, block.height), block.data).point(lambda v: 0 if v else 255)
    oracle = Dummy()
    oracle.image(picture.convert("1"), impl="bitImageRaster", fragment_height=10_000)
    assert oracle.output == block.escpos()


def test_printed_bytes_render_as_a_picture(desk, center, tmp_path):
    desk(IssueTicket("A", "cao_tuoi"))
    ops = ticket_ops(center, desk.events[-1], url="http://10.0.0.2:8080/t/2026-11-23/A001")
    png = printed_png(escpos(ops, static_blocks(center, "58mm")), 384)
    image = Image.open(io.BytesIO(png))
    assert image.width == 384 and image.height > 400
    (tmp_path / "printed.png").write_bytes(png)


def test_the_number_is_the_largest_thing_on_the_ticket_at_least_three_times_the_text(desk, center):
    """On either paper the number's height is at least 3 × any other line's (the time, wait and
    people-ahead lines print at 2 ×, the labels are 22-dot rasters), and it fits the width."""
    from gateway.config import PRINTERS
    from gateway.ticket import FONT_A, big_size

    desk(IssueTicket("A"))
    e = desk.events[-1]
    for printer, dots in PRINTERS.items():
        blocks = static_blocks(center, printer)
        ops = ticket_ops(center, e, printer=printer)
        n = next(op[2] for op in ops if op[0] == "big")
        number_h = FONT_A[1] * n
        text_h = max(
            [FONT_A[1] * 2] + [blocks[op[1]].height for op in ops if op[0] == "img" and op[1].startswith("lbl:")]
        )
        assert number_h >= 3 * text_h and FONT_A[0] * n * len(e.ticket) <= dots, (printer, number_h, text_h)
    assert big_size("A0001", "58mm") == 6  # a five-character number still fits 58 mm paper

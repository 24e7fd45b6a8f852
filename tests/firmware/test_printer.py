"""The kiosk's printer driver on MicroPython prints the very bytes the gateway's layout defines."""

from __future__ import annotations

import json
import os

import pytest

from gateway.dispatch import IssueTicket
from gateway.ticket import escpos, static_blocks, ticket_ops

SIM = os.path.join(os.path.dirname(__file__), "..", "..", "firmware", "sim")

PRINT = """
import json
from machine import UART
from printer import BlockStore, Printer
store = BlockStore("blocks")
for b in json.load(open("blocks.json")):
    import binascii
    store.save_part(b["name"], b["w"], b["h"], b["y"], binascii.a2b_base64(b["data"]))
store.set_rev("r1")
Printer(UART(2, 9600), store).print_ops(json.load(open("ops.json")))
print("rev", store.rev())
"""


@pytest.mark.parametrize("printer", ["58mm", "80mm"])
def test_printed_bytes_match_the_gateways_layout(desk, center, micropython, tmp_path, printer):
    desk(IssueTicket("B", "cao_tuoi"))
    ops = ticket_ops(center, desk.events[-1], url="http://10.0.0.2:8080/t/2026-11-23/B001")
    blocks = static_blocks(center, printer)
    parts = [part for n, r in blocks.items() for part in r.to_messages(n, "r1")]
    assert len(parts) > len(blocks), "the blocks go in parts"
    (tmp_path / "blocks.json").write_text(json.dumps(parts))
    (tmp_path / "ops.json").write_text(json.dumps(ops))
    out = micropython(PRINT, path_extra=SIM)
    assert out.strip() == "rev r1"
    printed = (tmp_path / "uart2.bin").read_bytes()
    assert printed == escpos(ops, blocks)


def test_a_missing_block_prints_plain_text(desk, center, micropython, tmp_path):
    desk(IssueTicket("A"))
    ops = ticket_ops(center, desk.events[-1])
    (tmp_path / "blocks.json").write_text("[]")
    (tmp_path / "ops.json").write_text(json.dumps(ops))
    micropython(PRINT, path_extra=SIM)
    assert (tmp_path / "uart2.bin").read_bytes() == escpos(ops, {})


def test_a_part_out_of_order_leaves_the_block_as_it_was(center, micropython, tmp_path):
    """A block is replaced only once all its rows are in, in order: a lost part (a message the
    board had no room for) leaves the old block, and printing uses it."""
    raster = static_blocks(center, "58mm")["svc:A"]
    parts = raster.to_messages("svc:A", "r1")
    assert len(parts) >= 3 and all(p["y"] > 0 for p in parts[1:])
    (tmp_path / "blocks.json").write_text(json.dumps(parts))
    micropython(PRINT_NOTHING, path_extra=SIM)
    whole = (tmp_path / "blocks" / "svc_A.bin").read_bytes()
    assert whole[4:] == raster.data
    (tmp_path / "blocks.json").write_text(json.dumps([{**parts[0], "data": "AAAA"}, parts[2]]))
    out = micropython(PRINT_NOTHING, path_extra=SIM)
    assert f"blocks: svc:A row {parts[2]['y']} is out of order; ignored" in out
    assert (tmp_path / "blocks" / "svc_A.bin").read_bytes() == whole


PRINT_NOTHING = PRINT.replace('Printer(UART(2, 9600), store).print_ops(json.load(open("ops.json")))\n', "")

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
    store.save(b["name"], b["w"], b["h"], binascii.a2b_base64(b["data"]))
store.set_rev("r1")
Printer(UART(2, 9600), store).print_ops(json.load(open("ops.json")))
print("rev", store.rev())
"""


@pytest.mark.parametrize("printer", ["58mm", "80mm"])
def test_printed_bytes_match_the_gateways_layout(desk, center, micropython, tmp_path, printer):
    desk(IssueTicket("B", "cao_tuoi"))
    ops = ticket_ops(center, desk.events[-1], url="http://10.0.0.2:8080/t/2026-11-23/B001")
    blocks = static_blocks(center, printer)
    (tmp_path / "blocks.json").write_text(json.dumps([r.to_message(n, "r1") for n, r in blocks.items()]))
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

"""The printed ticket: its layout, and the ESC/POS bytes it becomes. One home for both.

Cheap ESC/POS printers disagree on Vietnamese code pages, and accents often
print in a separate cell, so every Vietnamese text is drawn here, with a font
from Debian's fonts-dejavu-core, into a 1-bit raster printed with GS v 0.
Everything that changes from ticket to ticket is ASCII and prints natively:
the number (large), the time, the people ahead, the minutes, the QR code.

So a ticket is a short list of operations (`ops`): `img` names a static
raster block (the center's name, a service's name, a label), `txt` and `big`
print ASCII natively, `qr` prints a native QR code, `cut` cuts. The blocks
are sent to each kiosk once (cmd/config, when its `blocks_rev` is stale) and
cached on its flash, so a press needs only the ops: a few hundred bytes.
Each `img` op also carries its text without accents, for a kiosk that lacks
the block: a legible ticket is better than none.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFont

from contracts.topics import BLOCK_PART_BYTES

from .config import PRINTERS, CenterConfig
from .dispatch.events import TicketIssued

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {False: FONT_DIR / "DejaVuSans.ttf", True: FONT_DIR / "DejaVuSans-Bold.ttf"}
MARGIN = 8  # dots left and right of a raster line

LABELS = {
    "lbl:title": ("PHIẾU SỐ THỨ TỰ", 26, True),
    "lbl:time": ("Giờ lấy số", 22, False),
    "lbl:ahead": ("Số người chờ trước bạn", 22, False),
    "lbl:eta": ("Thời gian chờ dự kiến (phút)", 22, False),
    "lbl:unknown": ("Chưa xác định", 22, True),
    "lbl:qr": ("Quét mã để xem lượt của bạn", 20, False),
    "lbl:footer": ("Vui lòng chú ý màn hình và loa gọi số", 20, False),
}


@dataclass(frozen=True, slots=True)
class Raster:
    """A 1-bit image, rows of `width` dots packed MSB first, 1 = black."""

    width: int
    height: int
    data: bytes

    @property
    def row_bytes(self) -> int:
        return (self.width + 7) // 8

    def escpos(self) -> bytes:
        """GS v 0: print a raster bit image, normal density."""
        x, y = self.row_bytes, self.height
        return b"\x1dv0\x00" + bytes((x & 0xFF, x >> 8, y & 0xFF, y >> 8)) + self.data

    def to_messages(self, name: str, rev: str) -> list[dict]:
        """The block in parts of whole rows, each from row `y`: a board's heap has room for a
        part (contracts.topics.BOARD_MESSAGE_MAX), not always for a whole block."""
        rows = max(1, BLOCK_PART_BYTES // self.row_bytes)
        step = rows * self.row_bytes
        return [{"kind": "block", "name": name, "rev": rev, "w": self.width, "h": self.height, "y": y // self.row_bytes,
                 "data": base64.b64encode(self.data[y : y + step]).decode()}
                for y in range(0, len(self.data), step)]  # fmt: skip


@lru_cache(maxsize=16)
def _font(size: int, bold: bool) -> ImageFont.FreeTypeFont:
    path = FONTS[bold]
    if not path.exists():
        raise RuntimeError(f"font {path} is missing (apt-get install fonts-dejavu-core)")
    return ImageFont.truetype(str(path), size)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def render_text(text: str, width: int, size: int = 24, bold: bool = False) -> Raster:
    """Vietnamese text, wrapped and centred, as a raster `width` dots wide."""
    font = _font(size, bold)
    lines = _wrap(text, font, width - 2 * MARGIN)
    ascent, descent = font.getmetrics()
    line_h = ascent + descent + 2
    image = Image.new("1", (width, line_h * len(lines) + 4), 0)  # bit 1 = a printed dot
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        x = (width - font.getlength(line)) / 2
        draw.text((x, 2 + i * line_h), line, font=font, fill=1)
    return Raster(width, image.height, image.tobytes())


def plain(text: str) -> str:
    """The text without accents (đ → d), for a kiosk that has not got a block yet."""
    text = text.replace("đ", "d").replace("Đ", "D")
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return bare.encode("ascii", "replace").decode()


def block_texts(config: CenterConfig) -> dict[str, tuple[str, int, bool]]:
    """Every static text of the center's tickets: name → (text, size, bold)."""
    texts = {"center": (config.name, 24, True)}
    texts |= {f"svc:{s.code}": (s.name, 26, True) for s in config.services}
    texts |= {f"pri:{c.code}": (f"ƯU TIÊN - {c.name}", 24, True) for c in config.priority_classes}
    return texts | LABELS


def static_blocks(config: CenterConfig, printer: str) -> dict[str, Raster]:
    width = PRINTERS[printer]
    return {name: render_text(text, width, size, bold) for name, (text, size, bold) in block_texts(config).items()}


def blocks_rev(config: CenterConfig, printer: str) -> str:
    """Changes whenever any block's content would: kiosks compare it with what they cached."""
    digest = hashlib.sha256(repr((sorted(block_texts(config).items()), printer, FONTS)).encode())
    return digest.hexdigest()[:12]


def status_url(config: CenterConfig, day: str, ticket: str) -> str | None:
    """Where the ticket's QR code points: its status page on the gateway, if it is reachable."""
    return f"{config.public_url}/t/{day}/{ticket}" if config.public_url else None


BIG_MAX = 8  # ESC/POS GS ! magnifies font A (12 × 24 dots) at most 8 times each way
FONT_A = (12, 24)  # dots of one character of the printer's native font


def big_size(ticket: str, printer: str) -> int:
    """How many times font A the number prints: as large as the paper's width allows, at most
    BIG_MAX. On 58 and 80 mm paper a four-character number prints 8 × (192 dots, 24 mm tall):
    eight times the labels' text and four times the time and wait lines (2 ×)."""
    return max(1, min(BIG_MAX, PRINTERS[printer] // (FONT_A[0] * max(1, len(ticket)))))


# A ticket's number as a printer receives it: GS ! with the same magnification both ways (3–8), the
# number, a line feed. What the demo, the tests and the technician count as "printed".
BIG_NUMBER = re.compile(rb"\x1d![\x22\x33\x44\x55\x66\x77]([A-Z][0-9]+)\n")


def printed_numbers(data: bytes) -> list[str]:
    """The ticket numbers in a printer's bytes, in order."""
    return [m.decode() for m in BIG_NUMBER.findall(data)]


def ticket_ops(config: CenterConfig, e: TicketIssued, url: str | None = None, printer: str = "80mm") -> list[list]:
    """The operations of one ticket, in printing order; `printer` (a PRINTERS profile) sizes the number."""
    texts = block_texts(config)

    def img(name: str) -> list:
        return ["img", name, plain(texts[name][0])]

    when = datetime.fromtimestamp(e.at, ZoneInfo(config.timezone)).strftime("%H:%M  %d/%m/%Y")
    ops = [img("center"), img("lbl:title"), img(f"svc:{e.service}"), ["big", e.ticket, big_size(e.ticket, printer)]]
    if e.priority:
        ops.append(img(f"pri:{e.priority}"))
    ops += [img("lbl:time"), ["txt", when], img("lbl:ahead"), ["txt", str(e.ahead)], img("lbl:eta")]
    ops.append(img("lbl:unknown") if e.eta_low_min is None else ["txt", f"{e.eta_low_min} - {e.eta_high_min}"])
    if url:
        ops += [["qr", url], img("lbl:qr")]
    ops += [img("lbl:footer"), ["cut"]]
    return ops


# Every letter of Vietnamese with every tone, and the digits: the technician's test ticket shows
# at a glance whether the printer, its paper and the raster path render all of them. One short
# line per block, so each message stays as small as a ticket's own blocks.
GLYPH_LINES = (
    "aàảãáạ ăằẳẵắặ âầẩẫấậ", "bcdđ eèẻẽéẹ êềểễếệ", "ghiìỉĩíị klmn", "oòỏõóọ ôồổỗốộ ơờởỡớợ",
    "pqrst uùủũúụ ưừửữứự", "vx yỳỷỹýỵ 0123456789",
    "AÀẢÃÁẠ ĂẰẲẴẮẶ ÂẦẨẪẤẬ", "BCDĐ EÈẺẼÉẸ ÊỀỂỄẾỆ", "GHIÌỈĨÍỊ KLMN OÒỎÕÓỌ", "ÔỒỔỖỐỘ ƠỜỞỠỚỢ",
    "PQRST UÙỦŨÚỤ ƯỪỬỮỨỰ", "VX YỲỶỸÝỴ",
)  # fmt: skip


def test_ticket(config: CenterConfig, printer: str) -> tuple[dict[str, Raster], list[list]]:
    """The identify ticket: its extra raster blocks (sent before it) and its operations."""
    width = PRINTERS[printer]
    blocks = {f"test:{n}": render_text(line, width, 24) for n, line in enumerate(GLYPH_LINES)}
    ops = [["img", "center", plain(config.name)], ["big", "TEST", big_size("TEST", printer)]]
    ops += [["img", f"test:{n}", plain(line)] for n, line in enumerate(GLYPH_LINES)]
    return blocks, [*ops, ["qr", "https://hangcho.test/glyphs"], ["cut"]]


# -- ESC/POS: what a kiosk sends to its printer (the firmware does the same) ---------------------
ESC_INIT = b"\x1b@"
ESC_CENTER = b"\x1ba\x01"
GS_SIZE = b"\x1d!"  # + n: (width-1) << 4 | (height-1)
GS_CUT = b"\x1dVB\x00"  # feed and partial cut


def qr_escpos(data: str, module: int = 6) -> bytes:
    """GS ( k: model 2, module size, error correction M, store, print."""
    payload = data.encode("ascii")
    n = len(payload) + 3
    return (
        b"\x1d(k\x04\x001A2\x00"
        + b"\x1d(k\x03\x001C"
        + bytes((module,))
        + b"\x1d(k\x03\x001E1"
        + b"\x1d(k"
        + bytes((n & 0xFF, n >> 8))
        + b"1P0"
        + payload
        + b"\x1d(k\x03\x001Q0"
    )


def escpos(ops: list[list], blocks: dict[str, Raster]) -> bytes:
    out = bytearray(ESC_INIT + ESC_CENTER)
    for op in ops:
        kind = op[0]
        if kind == "img":
            block = blocks.get(op[1])
            out += block.escpos() if block else op[2].encode("ascii", "replace") + b"\n"
        elif kind == "txt":
            out += GS_SIZE + b"\x11" + op[1].encode("ascii") + b"\n" + GS_SIZE + b"\x00"
        elif kind == "big":
            n = op[2] if len(op) > 2 else 4  # an op from before the size was said: 4 ×
            out += GS_SIZE + bytes(((n - 1) << 4 | (n - 1),)) + op[1].encode("ascii") + b"\n" + GS_SIZE + b"\x00"
        elif kind == "qr":
            out += qr_escpos(op[1]) + b"\n"
        elif kind == "cut":
            out += b"\n\n\n" + GS_CUT
    return bytes(out)


def decode_escpos(data: bytes) -> list[tuple]:
    """Walk ESC/POS bytes back into operations, as a printer would: for tests and previews."""
    ops, i, size = [], 0, 0
    line = bytearray()
    while i < len(data):
        b = data[i]
        if data.startswith(b"\x1b@", i):
            ops.append(("init",))
            i += 2
        elif data.startswith(b"\x1ba", i):
            ops.append(("align", data[i + 2]))
            i += 3
        elif data.startswith(b"\x1d!", i):
            size = data[i + 2]
            i += 3
        elif data.startswith(b"\x1dv0", i):
            x = data[i + 4] | data[i + 5] << 8
            y = data[i + 6] | data[i + 7] << 8
            ops.append(("raster", x * 8, y, data[i + 8 : i + 8 + x * y]))
            i += 8 + x * y
        elif data.startswith(b"\x1d(k", i):
            n = data[i + 3] | data[i + 4] << 8
            body = data[i + 5 : i + 5 + n]
            if body[:2] == b"1P":
                ops.append(("qr", body[3:].decode()))
            i += 5 + n
        elif data.startswith(b"\x1dV", i):
            ops.append(("cut",))
            i += 4
        elif data.startswith(b"\x10\x04", i):  # DLE EOT n: a real-time status query (the paper sensor)
            ops.append(("status", data[i + 2]))
            i += 3
        elif b == 0x0A:
            if line:
                ops.append(("text", size, line.decode("ascii")))
                line = bytearray()
            i += 1
        else:
            line.append(b)
            i += 1
    return ops


def printed_png(data: bytes, width: int) -> bytes:
    """What a printer given these ESC/POS bytes would print, as a picture a person can look at."""
    ops: list[list] = []
    blocks: dict[str, Raster] = {}
    for op in decode_escpos(data):
        if op[0] == "raster":
            name = f"r{len(blocks)}"
            blocks[name] = Raster(op[1], op[2], op[3])
            ops.append(["img", name, ""])
        elif op[0] == "text":
            n = (op[1] & 0x0F) + 1
            ops.append(["big", op[2], n] if n > 2 else ["txt", op[2]])
        elif op[0] == "qr":
            ops.append(["qr", op[1]])
    return preview_png(ops, blocks, width)


def preview_png(ops: list[list], blocks: dict[str, Raster], width: int) -> bytes:
    """The ticket as a person would see it, for docs, tests and the console."""
    import qrcode

    parts: list[Image.Image] = []
    for op in ops:
        if op[0] == "img" and op[1] in blocks:
            b = blocks[op[1]]
            parts.append(Image.frombytes("1", (b.width, b.height), b.data).point(lambda v: 0 if v else 255))
        elif op[0] in ("txt", "big", "img"):
            text = op[1] if op[0] != "img" else op[2]
            times = (op[2] if len(op) > 2 else 4) if op[0] == "big" else 2  # txt prints at 2 ×
            parts.append(render_image(text, width, FONT_A[1] * times, bold=op[0] == "big"))
        elif op[0] == "qr":
            qr = qrcode.make(op[1], box_size=6, border=2).get_image().convert("L")
            canvas = Image.new("L", (width, qr.height), 255)
            canvas.paste(qr, ((width - qr.width) // 2, 0))
            parts.append(canvas)
    page = Image.new("L", (width, sum(p.height for p in parts) + 40), 255)
    y = 20
    for part in parts:
        page.paste(part.convert("L"), (0, y))
        y += part.height
    out = io.BytesIO()
    page.save(out, "PNG")
    return out.getvalue()


def render_image(text: str, width: int, size: int, bold: bool) -> Image.Image:
    r = render_text(text, width, size, bold)
    return Image.frombytes("1", (r.width, r.height), r.data).point(lambda v: 0 if v else 255)

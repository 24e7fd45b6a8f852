# The 7-segment font, one home for both display chips. Bits 6..0 are segments A..G (the MAX7219's
# no-decode order); the TM1637 wants A..G in bits 0..6 and gets them through `reversed7`.
FONT = {
    "0": 0x7E, "1": 0x30, "2": 0x6D, "3": 0x79, "4": 0x33, "5": 0x5B, "6": 0x5F, "7": 0x70, "8": 0x7F,
    "9": 0x7B, "A": 0x77, "B": 0x1F, "C": 0x4E, "D": 0x3D, "E": 0x4F, "F": 0x47, "G": 0x5E, "H": 0x37,
    "L": 0x0E, "P": 0x67, "U": 0x3E, "-": 0x01, " ": 0x00,
}  # fmt: skip


def reversed7(bits):
    """A..G in bits 6..0 turned into A..G in bits 0..6."""
    out = 0
    for i in range(7):
        if bits & (1 << (6 - i)):
            out |= 1 << i
    return out


def cells(text, digits):
    """The last `digits` characters, right-aligned, as font bits (unknown characters blank)."""
    text = ("%*s" % (digits, text))[-digits:]
    return [FONT.get(ch.upper(), 0) for ch in text]

"""What a call says, as clips: the one list of clip keys and the call → clip keys mapping.

A voice pack (gateway/voice_pack.py) holds one recording per key of CLIPS; a call is the chime
and the clips of `call_clips` joined. The recording page (gateway/voice_admin.py), the
espeak-ng pack builder and the tests take the keys and the texts from here, so a new word is
added in one place. The spoken sentence (`call_text`) is the same clips' texts, so what the
espeak-ng fallback says and what a recorded pack says cannot drift apart.
"""

from __future__ import annotations

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
LETTERS = {
    "A": "A", "B": "Bê", "C": "Xê", "D": "Dê", "E": "E", "F": "Ép", "G": "Giê", "H": "Hát", "I": "I",
    "J": "Gi", "K": "Ca", "L": "Lờ", "M": "Mờ", "N": "Nờ", "O": "O", "P": "Pê", "Q": "Quy", "R": "Rờ",
    "S": "Ét", "T": "Tê", "U": "U", "V": "Vê", "W": "Vê kép", "X": "Ích", "Y": "I dài", "Z": "Dét",
}  # fmt: skip
WORDS = {  # the number words a counter 1–999 needs beyond the digits
    "ten": "mười",  # 10–19
    "tens": "mươi",  # 20, 30, …
    "one_after_tens": "mốt",  # 21, 31, …
    "four_after_tens": "tư",  # 24, 34, …
    "five_after_ten": "lăm",  # 15, 25, …
    "hundred": "trăm",
    "zero_tens": "linh",  # 105: một trăm linh năm
}
CHIME = "chime"
CALL = "phrase.call"
TO_COUNTER = "phrase.counter"
CLIPS: dict[str, str] = {
    CHIME: "(tiếng chuông: hai nốt ding–dong)",
    CALL: "Mời công dân số",
    TO_COUNTER: "đến quầy số",
    **{f"letter.{letter}": name for letter, name in LETTERS.items()},
    **{f"digit.{d}": word for d, word in enumerate(DIGITS)},
    **{f"word.{key}": word for key, word in WORDS.items()},
}
"""Every clip a pack has: key → the text said (the chime's text is what to record instead)."""
PAUSE_AFTER_S = {CHIME: 0.25, CALL: 0.06}
"""Silence after a clip, where a reader pauses (the comma before "đến quầy số" is TO_COUNTER's)."""
PAUSE_BEFORE_S = {TO_COUNTER: 0.22}


def number_clips(n: int) -> list[str]:
    """A counter number as clip keys, 0–999: 5 → năm, 15 → mười lăm, 21 → hai mươi mốt, 105 → … linh năm."""
    if not 0 <= n <= 999:
        raise ValueError(f"{n} is outside 0–999")
    if n < 10:
        return [f"digit.{n}"]
    if n < 100:
        tens, unit = divmod(n, 10)
        head = ["word.ten"] if tens == 1 else [f"digit.{tens}", "word.tens"]
        if unit == 0:
            return head
        if unit == 5:
            return [*head, "word.five_after_ten"]
        if unit == 1 and tens > 1:
            return [*head, "word.one_after_tens"]
        if unit == 4 and tens > 1:
            return [*head, "word.four_after_tens"]
        return [*head, f"digit.{unit}"]
    hundreds, rest = divmod(n, 100)
    head = [f"digit.{hundreds}", "word.hundred"]
    if rest == 0:
        return head
    if rest < 10:
        return [*head, "word.zero_tens", f"digit.{rest}"]
    return [*head, *number_clips(rest)]


def call_clips(ticket: str, counter: int) -> list[str]:
    """The clips of one call, chime first: the letter by name, the digits one by one, the counter in words."""
    letter, digits = ticket[0], ticket[1:]
    if f"letter.{letter}" not in CLIPS or not digits.isdigit():
        raise ValueError(f"{ticket!r} is not a letter A–Z and digits")
    spelled = [f"digit.{c}" for c in digits]
    return [CHIME, CALL, f"letter.{letter}", *spelled, TO_COUNTER, *number_clips(counter)]


def words(keys: list[str]) -> str:
    """The clips' texts as one phrase."""
    return " ".join(CLIPS[k] for k in keys)


def number_words(n: int) -> str:
    """A counter number in Vietnamese words, 0–999: 5 → năm, 15 → mười lăm, 21 → hai mươi mốt."""
    return words(number_clips(n))


def call_text(ticket: str, counter: int) -> str:
    """What is said, as staff read it: "Mời công dân số A không hai ba, đến quầy số năm"."""
    keys = call_clips(ticket, counter)[1:]
    split = keys.index(TO_COUNTER)
    return f"{words(keys[:split])}, {words(keys[split:])}"

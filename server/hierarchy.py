"""The administrative hierarchy: nation → 34 provinces → 3,321 communes and wards → sites.

From the official list after the July 2025 rearrangement, as the PyPI package `vietnam-provinces`
ships it (the statistics office's codes), never typed by hand. A center names its commune by code
(`27427`) or by name (`Phú Định`, `Phường Phú Định`, `Phú Định, Hồ Chí Minh`); a name that is not
there is refused with the closest names as a hint, and one that several provinces have asks for
the province.
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass
from functools import cache

from vietnam_provinces import Province, Ward

PREFIXES = ("thành phố", "tỉnh", "phường", "xã", "đặc khu")  # division types written before a name


@dataclass(frozen=True, slots=True)
class Commune:
    code: int
    name: str  # as official, with its type: "Phường Phú Định"
    province_code: int
    province: str  # "Thành phố Hồ Chí Minh"

    def __str__(self) -> str:
        return f"{self.name} ({self.province}, mã {self.code})"


class UnknownCommune(ValueError):
    """No commune, or more than one, answers to what was given; the message says which are near."""


@cache
def provinces() -> dict[int, str]:
    return {int(p.code): p.name for p in Province.iter_all()}


@cache
def communes() -> dict[int, Commune]:
    names = provinces()
    return {int(w.code): Commune(int(w.code), w.name, int(w.province_code), names[int(w.province_code)])
            for w in Ward.iter_all()}  # fmt: skip


def _key(name: str, strip_marks: bool = False) -> str:
    """A name as people may type it: any case, with or without its type, spaces squeezed."""
    text = " ".join(unicodedata.normalize("NFC", name).casefold().split())
    for prefix in PREFIXES:
        if text.startswith(prefix + " "):
            text = text[len(prefix) + 1 :]
            break
    if strip_marks:  # "phu dinh" for "Phú Định"; đ is a letter of its own, not a d with a mark
        text = "".join(c for c in unicodedata.normalize("NFD", text.replace("đ", "d")) if not unicodedata.combining(c))
    return text


@cache
def _by_name(strip_marks: bool) -> dict[str, list[Commune]]:
    index: dict[str, list[Commune]] = {}
    for c in communes().values():
        index.setdefault(_key(c.name, strip_marks), []).append(c)
    return index


def find_commune(query: str | int) -> Commune:
    """The commune a code or a name (optionally ", province") names; UnknownCommune otherwise."""
    text = str(query).strip()
    if text.isdigit():
        found = communes().get(int(text))
        if found is None:
            raise UnknownCommune(f"không có xã, phường mã {text} (no commune with code {text})")
        return found
    name, _, province = (part.strip() for part in text.partition(","))
    for strip in (False, True):
        matches = _by_name(strip).get(_key(name, strip), [])
        if province:
            matches = [c for c in matches if _key(c.province, strip) == _key(province, strip)]
        if len(matches) == 1:
            return matches[0]
        listed = "; ".join(str(c) for c in matches)
        if matches and not strip:
            raise UnknownCommune(f"nhiều xã, phường tên {name!r}, ghi thêm tỉnh hoặc dùng mã (several communes "
                                 f"are named {name!r}: add ', province' or use the code): {listed}")  # fmt: skip
        if matches:  # only with the marks left out: the name as typed is not there
            raise UnknownCommune(f"không có xã, phường {text!r}; có phải (did you mean): {listed}")
    raise UnknownCommune(f"không có xã, phường {text!r} (no such commune); gần nhất (closest): {_closest(name)}")


def _closest(name: str, n: int = 5) -> str:
    keys = _by_name(True)
    near = difflib.get_close_matches(_key(name, True), list(keys), n=n, cutoff=0.6)
    return "; ".join(str(c) for key in near for c in keys[key][:2]) or "—"


class UnknownProvince(ValueError):
    """No province answers to what was given; the message says which are near."""


def find_province(query: str | int) -> tuple[int, str]:
    """The province (code, name) a code (79) or a name (`Hồ Chí Minh`, `Thành phố Hồ Chí Minh`,
    `ho chi minh`) names; UnknownProvince with the closest names otherwise."""
    text = str(query).strip()
    names = provinces()
    if text.isdigit():
        if int(text) not in names:
            raise UnknownProvince(f"không có tỉnh, thành phố mã {text} (no province with code {text})")
        return int(text), names[int(text)]
    for strip in (False, True):
        matches = [(code, name) for code, name in names.items() if _key(name, strip) == _key(text, strip)]
        if len(matches) == 1:
            return matches[0]
    keys = {_key(name, True): f"{name} (mã {code})" for code, name in names.items()}
    near = "; ".join(keys[k] for k in difflib.get_close_matches(_key(text, True), list(keys), n=3, cutoff=0.5)) or "—"
    raise UnknownProvince(f"không có tỉnh, thành phố {text!r} (no such province); gần nhất (closest): {near}")

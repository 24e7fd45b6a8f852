"""Who sees what: the one place a user's scope is decided, for every page, JSON answer and export.

    national  every center (the nation: 34 provinces)
    province  the centers whose province_code is the user's
    commune   the centers whose commune_code is the user's: a ward's main center and satellites
    staff     one center, users.center_id

A center added with a free-text ward has no codes: only a national user sees it. A *focus*
narrows what a page shows within the scope (a national user opening one province, a province
user one commune); a focus outside the scope is answered as one that does not exist (404).
`/users` manages the users whose scope lies within one's own, at one's own level or below.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, true

from . import hierarchy
from .schema import centers, users

ROLES = ("national", "province", "commune", "staff")  # from the widest; a user manages its level and below
ALIASES = {"admin": "national"}  # the name before scoped roles (migration step 10 renamed the rows)
MANAGERS = ("national", "province", "commune")  # who has /users


@dataclass(frozen=True, slots=True)
class Focus:
    """A node of the hierarchy a page shows: the nation, a province, a commune or one center."""

    level: str  # "nation" | "province" | "commune" | "center"
    code: int | str | None = None  # a province's or commune's official code, a center's id
    name: str = ""
    province_code: int | None = None  # a commune's province: the way back up

    def as_json(self) -> dict:
        return {"level": self.level, "code": self.code, "name": self.name, "province_code": self.province_code}


def role_of(name: str) -> str:
    return ALIASES.get(name, name)


def centers_clause(user) -> ColumnElement[bool]:
    """The centers `user` may see, as a condition on the centers table."""
    if user.role == "national":
        return true()
    if user.role == "province" and user.province_code is not None:
        return centers.c.province_code == user.province_code
    if user.role == "commune" and user.commune_code is not None:
        return centers.c.commune_code == user.commune_code
    if user.role == "staff" and user.center_id:
        return centers.c.id == user.center_id
    return false()  # a role or a scope this server does not know: nothing


def _province(code: int) -> Focus:
    return Focus("province", code, hierarchy.provinces().get(code, ""))


def _commune(code: int) -> Focus:
    """A commune's focus; one the official list no longer has keeps its code (and sees its centers)."""
    c = hierarchy.communes().get(code)
    return Focus("commune", code, c.name, c.province_code) if c else Focus("commune", code)


def own(user) -> Focus:
    """The user's whole scope, as a focus."""
    if user.role == "province":
        return _province(user.province_code)
    if user.role == "commune":
        return _commune(user.commune_code)
    if user.role == "staff":
        return Focus("center", user.center_id)
    return Focus("nation")


def narrowed(user, province: str | None, commune: str | None) -> Focus | None:
    """The focus `?province=CODE` or `?commune=CODE` asks for, the user's own without either;
    None for one outside the scope, unknown or malformed (the caller answers 404)."""
    if province is None and commune is None:
        return own(user)
    if province is not None and commune is not None:
        return None
    text = province if commune is None else commune
    if not text.isdigit() or len(text) > 6:
        return None
    code = int(text)
    if commune is None:
        if code not in hierarchy.provinces() or user.role not in ("national", "province"):
            return None
        return _province(code) if user.role == "national" or code == user.province_code else None
    found = hierarchy.communes().get(code)
    if found is None:
        return None
    if user.role == "national" or (user.role == "province" and found.province_code == user.province_code):
        return _commune(code)
    return _commune(code) if user.role == "commune" and code == user.commune_code else None


def focus_clause(focus: Focus) -> ColumnElement[bool]:
    if focus.level == "province":
        return centers.c.province_code == focus.code
    if focus.level == "commune":
        return centers.c.commune_code == focus.code
    if focus.level == "center":
        return centers.c.id == focus.code
    return true()


def total_word(focus: Focus) -> str:
    """The i18n key of the focus's total row: Toàn quốc, Toàn tỉnh / thành phố, Toàn xã / phường …"""
    if focus.level == "nation":
        return "total_nation"
    if focus.level == "province":
        return "total_city" if focus.name.startswith("Thành phố") else "province_total"
    if focus.level == "commune":
        kind = focus.name.split(" ")[0]
        return {"Phường": "total_ward", "Đặc": "total_special"}.get(kind, "total_commune")
    return "total_center"


def users_clause(actor) -> ColumnElement[bool]:
    """The users `actor` may see on /users, on users LEFT JOIN centers (a staff user's center)."""
    if actor.role == "national":
        return true()
    if actor.role == "province":
        return or_(users.c.province_code == actor.province_code, centers.c.province_code == actor.province_code)
    if actor.role == "commune":
        return or_(users.c.commune_code == actor.commune_code, centers.c.commune_code == actor.commune_code)
    return false()


def may_grant(actor, role: str) -> bool:
    """Whether `actor` may give (or manage a user with) `role`: its own level or below."""
    return actor.role in MANAGERS and role in ROLES and ROLES.index(role) >= ROLES.index(actor.role)


def grantable(actor) -> tuple[str, ...]:
    return tuple(r for r in ROLES if may_grant(actor, r))


def place_within(actor, province_code: int | None, commune_code: int | None) -> bool:
    """Whether a province's or commune's place lies in `actor`'s scope (as centers_clause says for a center)."""
    if actor.role == "national":
        return True
    if actor.role == "province":
        return province_code is not None and province_code == actor.province_code
    if actor.role == "commune":
        return commune_code is not None and commune_code == actor.commune_code
    return False

"""Centers, gateway credentials and users: what the CLI creates and the server checks.

A gateway's token is `<id>.<secret>`: the id finds the row, the secret is compared by its
SHA-256 in constant time. Secrets are 32 random bytes, so a fast hash is enough (unlike
passwords, which get werkzeug's scrypt).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select
from werkzeug.security import check_password_hash, generate_password_hash

from contracts import ids

from . import hierarchy, scopes
from .schema import centers, gateways, users

ROLES = scopes.ROLES


class AccountError(ValueError):
    """What cannot be created, and why (shown by the CLI)."""


@dataclass(frozen=True)
class User:
    """A logged-in user and the scope server/scopes.py reads: a province's or commune's code, or a
    staff user's center."""

    id: int
    username: str
    role: str
    center_id: str | None
    province_code: int | None = None
    commune_code: int | None = None

    @property
    def manages(self) -> bool:
        """Has /users (and, national, /audit)."""
        return self.role in scopes.MANAGERS


def user_from(row) -> User:
    return User(row.id, row.username, scopes.role_of(row.role), row.center_id, row.province_code, row.commune_code)


def add_center(conn: Connection, center_id: str, name: str, ward: str | None = None, site: str = "main",
               commune: str | int | None = None) -> None:  # fmt: skip
    """A center of a commune given by official code or name (its ward is then the official name),
    or, without one, of a ward named freely (it then rolls up to no province)."""
    problem = ids.center_id_problem(center_id)
    if problem:  # it names the center in every gateway's topics and batches: the same grammar here
        raise AccountError(f"center id {problem}")
    codes = {}
    if commune is not None:
        try:
            found = hierarchy.find_commune(commune)
        except hierarchy.UnknownCommune as e:
            raise AccountError(str(e)) from None
        ward, codes = found.name, {"commune_code": found.code, "province_code": found.province_code}
    if not ward:
        raise AccountError("a center needs its commune (--commune CODE|NAME) or a ward's name (--ward)")
    if conn.execute(select(centers.c.id).where(centers.c.id == center_id)).first():
        raise AccountError(f"center {center_id!r} already exists")
    conn.execute(centers.insert().values(id=center_id, name=name, ward=ward, site=site, created_at=time.time(),
                                         **codes))  # fmt: skip


def add_gateway(conn: Connection, center_id: str) -> str:
    """A new credential for the center's gateway; the token is shown once and never stored."""
    if not conn.execute(select(centers.c.id).where(centers.c.id == center_id)).first():
        raise AccountError(f"no center {center_id!r}; add it first (hangcho-server add-center)")
    gid, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    conn.execute(gateways.insert().values(id=gid, center_id=center_id, secret_hash=_digest(secret),
                                          created_at=time.time(), revoked=False))  # fmt: skip
    return f"{gid}.{secret}"


def revoke_gateway(conn: Connection, gateway_id: str) -> bool:
    return conn.execute(gateways.update().where(gateways.c.id == gateway_id).values(revoked=True)).rowcount == 1


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def gateway_table(conn: Connection) -> dict[str, tuple[str, str, bool]]:
    """Every gateway credential: id -> (center, secret hash, revoked). A few hundred bytes per
    center: the whole country's fits in a worker's memory."""
    rows = conn.execute(select(gateways.c.id, gateways.c.center_id, gateways.c.secret_hash, gateways.c.revoked))
    return {r.id: (r.center_id, r.secret_hash, r.revoked) for r in rows}


def token_center(table: dict[str, tuple[str, str, bool]], token: str) -> str | None:
    """The center a token may write, or None for a token that is unknown, wrong or revoked."""
    gid, _, secret = token.partition(".")
    row = table.get(gid)
    if row is None or row[2] or not hmac.compare_digest(row[1], _digest(secret)):
        return None
    return row[0]


MIN_PASSWORD = 10


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")


def _place(conn: Connection, role: str, center_id: str | None, province: str | None, commune: str | None) -> dict:
    """The scope columns of a user with `role`, from exactly the option that role takes."""
    given = {"--center": center_id, "--province": province, "--commune": commune}
    wanted = {"national": None, "province": "--province", "commune": "--commune", "staff": "--center"}[role]
    extra = [name for name, value in given.items() if value and name != wanted]
    if extra:
        takes = f"takes {wanted} only" if wanted else "sees every province and takes none of them"
        raise AccountError(f"vai trò {role} không dùng {', '.join(extra)} (role {role} {takes}: "
                           f"leave out {', '.join(extra)})")  # fmt: skip
    if wanted and not given[wanted]:
        what = {"--province": "its province", "--commune": "its commune or ward", "--center": "one center"}[wanted]
        raise AccountError(f"vai trò {role} cần {wanted} (a {role} user belongs to {what}: give {wanted})")
    if role == "province":
        try:
            code, _ = hierarchy.find_province(province)
        except hierarchy.UnknownProvince as e:
            raise AccountError(str(e)) from None
        return {"province_code": code}
    if role == "commune":
        try:
            found = hierarchy.find_commune(commune)
        except hierarchy.UnknownCommune as e:
            raise AccountError(str(e)) from None
        return {"commune_code": found.code, "province_code": found.province_code}
    if role == "staff":
        if not conn.execute(select(centers.c.id).where(centers.c.id == center_id)).first():
            raise AccountError(f"no center {center_id!r}")
        return {"center_id": center_id}
    return {}


def _within(conn: Connection, by: User, role: str, place: dict) -> None:
    """Refuse a user above `by`'s level or outside its scope (a center out of scope is one that is not there)."""
    if not scopes.may_grant(by, role):
        raise AccountError(f"{by.username} không được cấp vai trò {role} (may give {', '.join(scopes.grantable(by))})")
    if "center_id" in place:
        seen = select(centers.c.id).where(centers.c.id == place["center_id"], scopes.centers_clause(by))
        if not conn.execute(seen).first():
            raise AccountError(f"no center {place['center_id']!r}")
    elif not scopes.place_within(by, place.get("province_code"), place.get("commune_code")):
        raise AccountError(f"ngoài phạm vi của {by.username} (outside {by.username}'s scope)")


def add_user(conn: Connection, username: str, password: str, role: str, center_id: str | None = None,
             province: str | None = None, commune: str | None = None, by: User | None = None) -> dict:  # fmt: skip
    """A user with a role and its scope (server/scopes.py); `by`, when given, must be allowed to
    make it (the /users page). Returns the scope's columns. "admin" is the old name of national."""
    role = scopes.role_of(role)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    place = _place(conn, role, center_id, province, commune)
    if by is not None:
        _within(conn, by, role, place)
    _check_password(password)
    if not username or len(username) > 64 or any(c <= " " or c in "\x7f/\\" for c in username):
        raise AccountError("tên đăng nhập 1–64 ký tự, không có khoảng trắng hay / (a user name has 1 to 64 "
                           "characters, no space, slash or control character)")  # fmt: skip
    if conn.execute(select(users.c.id).where(users.c.username == username)).first():
        raise AccountError(f"user {username!r} already exists")
    conn.execute(users.insert().values(username=username, password_hash=generate_password_hash(password),
                                       role=role, created_at=time.time(), **place))  # fmt: skip
    return place


# Checked against for a name that does not exist, so an unknown name costs what a known one
# does: the time of an answer must not tell which user names exist.
_NOBODY = generate_password_hash("no user has this password")


def authenticate(conn: Connection, username: str, password: str) -> User | None:
    row = conn.execute(select(users).where(users.c.username == username)).first()
    if row is None:
        check_password_hash(_NOBODY, password)
        return None
    if not check_password_hash(row.password_hash, password) or row.disabled:
        return None
    return user_from(row)


def _user_id(conn: Connection, username: str) -> int:
    found = conn.execute(select(users.c.id).where(users.c.username == username)).scalar_one_or_none()
    if found is None:
        raise AccountError(f"no user {username!r}")
    return found


def set_disabled(conn: Connection, username: str, disabled: bool) -> int:
    """Disable (or enable again) a user; disabling ends their sessions. Returns the user's id."""
    user_id = _user_id(conn, username)
    conn.execute(users.update().where(users.c.id == user_id).values(disabled=disabled))
    return user_id


def remove_user(conn: Connection, username: str) -> int:
    user_id = _user_id(conn, username)
    conn.execute(delete(users).where(users.c.id == user_id))
    return user_id


def set_password(conn: Connection, username: str, password: str) -> int:
    _check_password(password)
    user_id = _user_id(conn, username)
    conn.execute(users.update().where(users.c.id == user_id).values(password_hash=generate_password_hash(password)))
    return user_id

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

from . import hierarchy
from .schema import centers, gateways, users

ROLES = ("admin", "staff")


class AccountError(ValueError):
    """What cannot be created, and why (shown by the CLI)."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str
    center_id: str | None

    def sees(self, center_id: str) -> bool:
        return self.role == "admin" or self.center_id == center_id


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


def add_user(conn: Connection, username: str, password: str, role: str, center_id: str | None = None) -> None:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if role == "staff" and not center_id:
        raise AccountError("a staff user belongs to one center: give --center")
    if center_id and not conn.execute(select(centers.c.id).where(centers.c.id == center_id)).first():
        raise AccountError(f"no center {center_id!r}")
    _check_password(password)
    if conn.execute(select(users.c.id).where(users.c.username == username)).first():
        raise AccountError(f"user {username!r} already exists")
    conn.execute(users.insert().values(username=username, password_hash=generate_password_hash(password),
                                       role=role, center_id=center_id, created_at=time.time()))  # fmt: skip


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
    return User(row.id, row.username, row.role, row.center_id)


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

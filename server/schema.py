"""The central server's tables, in SQLAlchemy Core: the same definitions on SQLite and PostgreSQL.

`migrations.py` creates and changes them; nothing else issues DDL.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from contracts.sync import COUNTER_COUNTS, COUNTER_HISTOGRAMS, COUNTER_SUMS, COUNTS, HISTOGRAMS, SUMS

metadata = MetaData()


def written_by() -> tuple[Column, Column]:
    """Which gateway credential wrote a row, and when (NULL: before migration 4), so that what a
    stolen token wrote can be found and removed (`hangcho-server revoke-gateway --purge-since`)."""
    return Column("gateway_id", String(32)), Column("written_at", Float)


centers = Table(
    "centers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("ward", Text, nullable=False),  # the commune or ward; several sites may share one
    Column("site", Text, nullable=False, default="main"),  # "main" or a satellite's name
    Column("created_at", Float, nullable=False),
    # the official codes (server/hierarchy.py): a ward's sites roll up to its commune, communes to
    # their province; a center added before step 8 without them has neither
    Column("commune_code", Integer, nullable=True),
    Column("province_code", Integer, nullable=True, index=True),
)

gateways = Table(
    "gateways",
    metadata,
    Column("id", String(32), primary_key=True),  # the token's public half
    Column("center_id", String(64), nullable=False, index=True),
    Column("secret_hash", String(64), nullable=False),  # sha256 of the token's secret half
    Column("created_at", Float, nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),  # server/scopes.py ROLES: national, province, commune, staff
    Column("center_id", String(64)),  # a staff user's center
    Column("created_at", Float, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),  # no login; its sessions were ended
    # a province user's province; a commune user's commune and its province (migration step 10)
    Column("province_code", Integer, nullable=True),
    Column("commune_code", Integer, nullable=True),
)

login_throttle = Table(  # failed logins, in the database so every worker and node counts the same
    "login_throttle",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(160), nullable=False, index=True),  # "user:<name>", "address:<ip>" or "device:<id>"
    Column("at", Float, nullable=False),
)

web_sessions = Table(  # a logged-in browser; logout, a new password or a disabled user removes it
    "web_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 of the id the session cookie holds
    Column("user_id", Integer, nullable=False, index=True),
    Column("created_at", Float, nullable=False),  # the absolute expiry counts from here
    Column("seen_at", Float, nullable=False),  # the idle expiry from here (written at most once a minute)
    Column("address", String(64)),
)

batches = Table(
    "sync_batches",
    metadata,
    Column("center_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("digest", String(64), nullable=False),  # the same seq must carry the same body
    Column("received_at", Float, nullable=False),
    Column("buckets", Integer, nullable=False),
    Column("gateway_id", String(32)),  # the credential that sent it (NULL: before migration 4, or a resend mark)
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("center_id", String(64), primary_key=True),
    Column("taken_at", Float, nullable=False),
    Column("received_at", Float, nullable=False),
    Column("body", JSON, nullable=False),
    Column("gateway_id", String(32)),  # who wrote it: `revoke-gateway --purge-since` removes a credential's
)

hourly = Table(
    "hourly",
    metadata,
    Column("center_id", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("hour", Integer, primary_key=True, autoincrement=False),
    Column("service", String(3), primary_key=True),
    Column("seq", Integer, nullable=False),  # the batch this value came from: a lower one never replaces it
    # the service's field in the catalog (contracts/catalog.py) as its center mapped it then: what the
    # province compares by; rows from before migration 9 count as "khac"
    Column("field", String(32), nullable=False, default="khac", server_default="khac"),
    *(Column(name, Integer, nullable=False, default=0) for name in (*COUNTS, *SUMS)),
    *(Column(name, JSON, nullable=False) for name in HISTOGRAMS),
    *written_by(),
)

# A histogram's bins as columns of the roll-ups (wait_hist_0 … wait_hist_22), so that the database
# adds them up and a P90 is read off their sums (contracts.sync.quantile).
BINS = {name: tuple(f"{name}_{i}" for i in range(size)) for name, size in HISTOGRAMS.items()}
ROLLUP_NUMBERS = (*COUNTS, *SUMS, *(column for columns in BINS.values() for column in columns))

daily = Table(  # hourly's sums by center, day and service, kept at ingest (server/rollups.py)
    "daily",
    metadata,
    Column("center_id", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("service", String(3), primary_key=True),
    Column("field", String(32), nullable=False, default="khac", server_default="khac"),  # as its latest bucket's
    *(Column(name, BigInteger, nullable=False, default=0) for name in ROLLUP_NUMBERS),  # 24 hours overflow INTEGER
)

counter_days = Table(
    "counter_days",
    metadata,
    Column("center_id", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("counter", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    *(Column(name, Integer, nullable=False, default=0) for name in (*COUNTER_COUNTS, *COUNTER_SUMS)),
    *(Column(name, JSON, nullable=False) for name in COUNTER_HISTOGRAMS),
    *written_by(),
)

resend_requests = Table(
    "resend_requests",  # centers asked to resend after a purge (server/purge.py); a handful at most
    metadata,
    Column("center_id", String(64), primary_key=True),
    Column("seq", Integer, nullable=False),  # the mark: the gateway resends from seq + 1
    Column("requested_at", Float, nullable=False),
)

audit_log = Table(  # who did what, when, from where: logins, accounts, tokens, purges, exports
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False, index=True),
    Column("actor", String(80), nullable=False),  # a user name, or "cli:<system user>"
    Column("address", String(64), nullable=False),  # the client's address, or "local" for the CLI
    Column("action", String(32), nullable=False),  # server/audit.py ACTIONS
    Column("target", String(160), nullable=False, default=""),  # the user, center, gateway or export
    Column("detail", Text, nullable=False, default=""),
)

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("applied_at", Float, nullable=False),
    UniqueConstraint("name"),
)

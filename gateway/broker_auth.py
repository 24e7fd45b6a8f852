"""Mosquitto's accounts and ACL, written from the center's configuration.

One account per board, which may publish only its own status / info / tele /
evt topics and read only its own ack / cmd / display; the gateway has its own
account over the center's whole branch; anonymous access is off. Passwords
are generated once and kept in `secrets.toml` (mode 0600): running the
command again keeps them, adds accounts for new boards and drops removed ones.
The password file uses Mosquitto 2's own format (PBKDF2-SHA512, `$7$`), so no
`mosquitto_passwd` run is needed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

from contracts.ids import GATEWAY
from contracts.topics import BOARD_READS, FROM_DEVICE, PREFIX, center_branch, gateway_status, topic

from .config import CenterConfig

GATEWAY_USER = GATEWAY
ITERATIONS = 101  # what mosquitto_passwd 2.0 uses


@dataclass(frozen=True, slots=True)
class BrokerFiles:
    conf: Path
    passwd: Path
    acl: Path
    secrets: Path
    passwords: dict[str, str]


def password_hash(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS)
    return f"$7${ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def acl_text(config: CenterConfig, prefix: str = PREFIX) -> str:
    lines = [
        "# Written by `hangcho-gateway broker-auth` from the center's configuration; do not edit.",
        f"user {GATEWAY_USER}",
        f"topic readwrite {center_branch(config.id, prefix)}",
    ]
    for device in config.devices:
        lines += ["", f"user {device.id}"]
        lines += [f"topic write {topic(config.id, device.id, leaf, prefix)}" for leaf in FROM_DEVICE]
        lines += [f"topic read {topic(config.id, device.id, leaf, prefix)}" for leaf in BOARD_READS]
        lines.append(f"topic read {gateway_status(config.id, prefix)}")  # is the gateway there?
    return "\n".join(lines) + "\n"


def conf_text(folder: Path, port: int, bind: str, user: str | None) -> str:
    lines = [
        "# Written by `hangcho-gateway broker-auth`; see docs/protocol.md (Running Mosquitto).",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {folder / 'passwd'}",
        f"acl_file {folder / 'acl'}",
        f"listener {port} {bind}",
        "persistence true",
        f"persistence_location {folder / 'data'}/",
        "max_inflight_messages 20",
        "max_queued_messages 10000",
        "max_packet_size 65536",
        # Small messages go out at once: with Nagle's algorithm a publish can wait for the
        # previous one's TCP ack, up to 40 ms of delayed ack on Linux (docs/performance.md).
        "set_tcp_nodelay true",
    ]
    if user:
        lines.append(f"user {user}")
    return "\n".join(lines) + "\n"


def write_broker_files(
    config: CenterConfig,
    folder: str | Path,
    port: int = 1883,
    bind: str = "0.0.0.0",
    user: str | None = "mosquitto",
    prefix: str = PREFIX,
) -> BrokerFiles:
    folder = Path(folder).resolve()
    (folder / "data").mkdir(parents=True, exist_ok=True)
    passwords = update_accounts(config, folder, prefix)
    (folder / "mosquitto.conf").write_text(conf_text(folder, port, bind, user))
    return BrokerFiles(folder / "mosquitto.conf", folder / "passwd", folder / "acl", folder / "secrets.toml", passwords)


def update_accounts(config: CenterConfig, folder: str | Path, prefix: str = PREFIX) -> dict[str, str]:
    """Accounts and ACL for every device of the configuration, keeping existing passwords; the
    broker's own configuration is left alone. Mosquitto reads them again on SIGHUP."""
    folder = Path(folder)
    secrets_path = folder / "secrets.toml"
    old = tomllib.loads(secrets_path.read_text())["passwords"] if secrets_path.exists() else {}
    users = [GATEWAY_USER, *(d.id for d in config.devices)]
    passwords = {u: old.get(u) or secrets.token_urlsafe(18) for u in users}
    _write_private(secrets_path, "[passwords]\n" + "".join(f'"{u}" = "{p}"\n' for u, p in passwords.items()))
    _write_private(folder / "passwd", "".join(f"{u}:{password_hash(p)}\n" for u, p in passwords.items()))
    (folder / "acl").write_text(acl_text(config, prefix))
    return passwords


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)

"""Mosquitto's accounts, ACL, TLS and limits, written from the center's configuration.

Accounts. One per board, which may publish only its own status / info / tele / evt topics and
read only its own ack / cmd / display; the gateway has its own account over the center's whole
branch; each technician's tool (tech/) has its own account with only what that tool does;
anonymous access is off. The broker replaces every client id with the username
(`use_username_as_clientid`), so an account's session is its own: a board's password, whatever
client id it sends, can only take over that board's session, never the gateway's.

Passwords are generated once and kept in `secrets.toml` (mode 0600): running the command again
keeps them, adds accounts for new boards and drops removed ones. The password file uses
Mosquitto 2's own format (PBKDF2-SHA512, `$7$`), so no `mosquitto_passwd` run is needed.

Listeners. TLS on the LAN (8883, the broker's certificate from the center's CA, gateway/pki.py,
for the addresses the boards use); plain MQTT only on 127.0.0.1 (1883), for the gateway and the
technician's tools on the same machine: nothing on the LAN can reach it, and nothing secret
crosses the LAN in cleartext.

Limits. Each listener has its own `max_connections`, so sockets from the LAN that fill the TLS
listener never keep the gateway out of the local one; Mosquitto's file limit (`LimitNOFILE` in
its systemd drop-in, gateway/install.py) is above both together. The per-client queue holds a
flood's worth of messages, so a board's flood does not make the broker drop what the gateway is
sent (docs/protocol.md, Security).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import secrets
import socket
import tomllib
from dataclasses import dataclass
from pathlib import Path

from contracts import ids
from contracts.topics import BOARD_READS, FROM_DEVICE, PREFIX, center_branch, gateway_status, gateway_time, topic

from . import pki
from .config import CenterConfig

GATEWAY_USER = ids.GATEWAY
# What each technician's tool reads of every board and which commands it may send (tech/*.py).
# One account per tool: the broker keeps one session per account, so an update running for an
# hour is never cut off by an identify in another terminal.
TECH_ACCOUNTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "tech-provision": (("info",), ()),  # waits for the new board's birth message
    "tech-identify": ((), ("cmd/identify", "cmd/config", "cmd/print")),  # the test ticket's blocks and print
    "tech-reboot": (("info", "display"), ("cmd/reboot",)),  # never a counter that is serving
    "tech-update": (("info", "display"), ("cmd/update",)),
}
assert set(TECH_ACCOUNTS) == set(ids.TECH_TOOLS), "every tool's account is a name no device may take"
ITERATIONS = 101  # what mosquitto_passwd 2.0 uses

TLS_PORT = 8883
LOCAL_PORT = 1883
LAN_MAX_CONNECTIONS = 4096  # a center's few dozen boards, and room for 1,100+ idle sockets (about 42 KB each)
LOCAL_MAX_CONNECTIONS = 64  # the gateway and the technician's tools
MOSQUITTO_NOFILE = 8192  # LimitNOFILE: both listeners full, and the broker's own files
MAX_INFLIGHT = 20  # QoS 1 messages on their way to one client, unacknowledged
MAX_QUEUED = 100_000  # and behind those, per client: a 10 s flood at 10,000/s, were the gateway to read none
MAX_QUEUED_BYTES = 64 * 1024 * 1024
assert LAN_MAX_CONNECTIONS + LOCAL_MAX_CONNECTIONS + 64 < MOSQUITTO_NOFILE


@dataclass(frozen=True, slots=True)
class BrokerFiles:
    conf: Path
    passwd: Path
    acl: Path
    secrets: Path
    passwords: dict[str, str]
    ca: Path  # the center's CA (PEM): what boards and tools verify the broker with
    cert: Path  # the broker's certificate and key
    key: Path
    tls_port: int
    local_port: int
    hosts: tuple[str, ...]  # the addresses in the broker's certificate


def password_hash(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS)
    return f"$7${ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def acl_text(config: CenterConfig, prefix: str = PREFIX, extra: dict[str, str] | None = None) -> str:
    """`extra`: more accounts → "read" or "readwrite" over the center's branch (rig/broker.py)."""
    branch = center_branch(config.id, prefix)
    lines = [
        "# Written by `hangcho-gateway broker-auth` from the center's configuration; do not edit.",
        f"user {GATEWAY_USER}",
        f"topic readwrite {branch}",
    ]
    for user, (reads, writes) in TECH_ACCOUNTS.items():
        lines += ["", f"user {user}"]
        lines += [f"topic read {topic(config.id, '+', leaf, prefix)}" for leaf in reads]
        lines += [f"topic write {topic(config.id, '+', leaf, prefix)}" for leaf in writes]
    for user, access in (extra or {}).items():
        lines += ["", f"user {user}", f"topic {access} {branch}"]
    for device in config.devices:
        lines += ["", f"user {device.id}"]
        lines += [f"topic write {topic(config.id, device.id, leaf, prefix)}" for leaf in FROM_DEVICE]
        lines += [f"topic read {topic(config.id, device.id, leaf, prefix)}" for leaf in BOARD_READS]
        lines.append(f"topic read {gateway_status(config.id, prefix)}")  # is the gateway there?
        lines.append(f"topic read {gateway_time(config.id, prefix)}")  # what time is it?
    return "\n".join(lines) + "\n"


def conf_text(files: BrokerFiles, bind: str, user: str | None) -> str:
    folder = files.conf.parent
    lines = [
        "# Written by `hangcho-gateway broker-auth`; see docs/protocol.md (Security, Running Mosquitto).",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {files.passwd}",
        f"acl_file {files.acl}",
        "persistence true",
        f"persistence_location {folder / 'data'}/",
        f"max_inflight_messages {MAX_INFLIGHT}",
        f"max_queued_messages {MAX_QUEUED}",
        f"max_queued_bytes {MAX_QUEUED_BYTES}",
        "max_packet_size 65536",
        "",
        "# The boards, on the LAN: TLS only.",
        f"listener {files.tls_port} {bind}".rstrip(),
        f"max_connections {LAN_MAX_CONNECTIONS}",
        "use_username_as_clientid true",
        f"certfile {files.cert}",
        f"keyfile {files.key}",
        "tls_version tlsv1.2",
        # Small messages go out at once: with Nagle's algorithm a publish can wait for the
        # previous one's TCP ack, up to 40 ms of delayed ack on Linux (docs/performance.md).
        "set_tcp_nodelay true",
        "",
        "# The gateway and the technician's tools on this machine: plain MQTT, never on the LAN.",
        f"listener {files.local_port} 127.0.0.1",
        f"max_connections {LOCAL_MAX_CONNECTIONS}",
        "use_username_as_clientid true",
        "set_tcp_nodelay true",
    ]
    if user:
        lines.insert(2, f"user {user}")
    return "\n".join(lines) + "\n"


def on_this_machine(host: str) -> bool:
    """A broker address reached without crossing a network: plain MQTT is allowed there only."""
    if host in ("", "localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def machine_addresses() -> list[str]:
    """The addresses boards may use to reach this machine: every interface's IP address (not
    IPv6 link-local, which needs a scope), the host name and its mDNS name."""
    import ifaddr

    found: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            address = ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            if not address.lower().startswith("fe80:"):
                found.append(address)
    name = socket.gethostname()
    return [*found, name, f"{name}.local"]


def write_broker_files(
    config: CenterConfig,
    folder: str | Path,
    port: int = TLS_PORT,
    local_port: int = LOCAL_PORT,
    bind: str = "",
    hosts: list[str] | None = None,
    user: str | None = "mosquitto",
    prefix: str = PREFIX,
    extra: dict[str, str] | None = None,
) -> BrokerFiles:
    """Everything Mosquitto needs for the center in `folder`. `port` is the TLS listener on
    `bind` (all addresses when empty) with a certificate for `hosts` (default: this machine's
    addresses); `local_port` the plain one on 127.0.0.1."""
    folder = Path(folder).resolve()
    (folder / "data").mkdir(parents=True, exist_ok=True)
    passwords = update_accounts(config, folder, prefix, extra)
    hosts = list(hosts) if hosts else machine_addresses()
    ca = pki.ensure_ca(folder, config.id)
    issued = pki.issue(ca, folder, "broker", hosts)
    files = BrokerFiles(folder / "mosquitto.conf", folder / "passwd", folder / "acl", folder / "secrets.toml",
                        passwords, ca.cert, issued.cert, issued.key, port, local_port, tuple(hosts))  # fmt: skip
    files.conf.write_text(conf_text(files, bind, user))
    return files


def update_accounts(
    config: CenterConfig, folder: str | Path, prefix: str = PREFIX, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """Accounts and ACL for every device of the configuration, keeping existing passwords (and the
    `extra` accounts of an earlier run when none are given); the broker's own configuration is
    left alone. Mosquitto reads them again on SIGHUP."""
    folder = Path(folder)
    secrets_path = folder / "secrets.toml"
    kept = tomllib.loads(secrets_path.read_text()) if secrets_path.exists() else {}
    old, extra = kept.get("passwords", {}), extra if extra is not None else kept.get("extra", {})
    if clash := set(extra) & {d.id for d in config.devices}:
        raise ValueError(f"extra accounts named like devices: {sorted(clash)}")
    users = [GATEWAY_USER, *TECH_ACCOUNTS, *extra, *(d.id for d in config.devices)]
    passwords = {u: old.get(u) or secrets.token_urlsafe(18) for u in users}
    text = "[passwords]\n" + "".join(f'"{u}" = "{p}"\n' for u, p in passwords.items())
    text += "\n[extra]\n" + "".join(f'"{u}" = "{a}"\n' for u, a in extra.items()) if extra else ""
    _write_private(secrets_path, text)
    _write_private(folder / "passwd", "".join(f"{u}:{password_hash(p)}\n" for u, p in passwords.items()))
    (folder / "acl").write_text(acl_text(config, prefix, extra))
    return passwords


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)

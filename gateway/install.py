"""Install the gateway on a Raspberry Pi OS (or Debian) machine as systemd services.

Lays out the files a center needs and the units that run them:

    /etc/hangcho/center.toml                  the center's configuration (copied)
    /etc/hangcho/broker/                      Mosquitto's accounts, ACL and configuration
    /var/lib/hangcho/journal.db               the journal (created on first run)
    /etc/systemd/system/hangcho-gateway.service
    /etc/systemd/system/mosquitto.service.d/hangcho.conf

The gateway runs as the system user `hangcho` (member of `audio` for the
voice), restarts on any exit, and logs to journald (`journalctl -u
hangcho-gateway`). `root` lets the tests install into a folder.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .broker_auth import MOSQUITTO_NOFILE, write_broker_files
from .config import load_center

USER = "hangcho"
GATEWAY_NOFILE = 8192  # its web pages' sockets and the MQTT one, with room (docs/protocol.md, Security)


@dataclass(frozen=True, slots=True)
class Layout:
    root: Path

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    @property
    def etc(self) -> Path:
        return self.path("/etc/hangcho")

    @property
    def state(self) -> Path:
        return self.path("/var/lib/hangcho")


def gateway_unit(executable: str, http: str, audio: str, sync_url: str | None = None) -> str:
    sync = f" \\\n  --sync-url {sync_url} --sync-token-file /etc/hangcho/sync-token" if sync_url else ""
    return f"""# Written by `hangcho-gateway install`.
[Unit]
Description=Hàng Chờ gateway (queue of the center)
After=network-online.target mosquitto.service
Wants=network-online.target mosquitto.service

[Service]
User={USER}
Group={USER}
SupplementaryGroups=audio
ExecStart={executable} run --config /etc/hangcho/center.toml --journal /var/lib/hangcho/journal.db \\
  --secrets /etc/hangcho/broker/secrets.toml --http {http} --audio "{audio}"{sync}
Restart=always
RestartSec=2
LimitNOFILE={GATEWAY_NOFILE}
StateDirectory=hangcho
StandardOutput=journal
StandardError=journal
NoNewPrivileges=yes
ProtectSystem=full
ProtectHome=yes

[Install]
WantedBy=multi-user.target
"""


MOSQUITTO_DROP_IN = f"""# Written by `hangcho-gateway install`: Mosquitto runs on the center's accounts, ACL and TLS.
[Service]
ExecStart=
ExecStart=/usr/sbin/mosquitto -c /etc/hangcho/broker/mosquitto.conf
LimitNOFILE={MOSQUITTO_NOFILE}
"""


def install(config_path: Path, root: Path, http: str, audio: str, systemctl: bool,
            sync: tuple[str, Path] | None = None, hosts: list[str] | None = None) -> list[str]:  # fmt: skip
    """Lay out files and units; return what was done, line by line. `sync` is the central
    server's URL and a file holding this gateway's token (copied to /etc/hangcho/sync-token);
    `hosts` the addresses in the broker's TLS certificate (default: this machine's)."""
    config = load_center(config_path)
    layout = Layout(root)
    done = []
    layout.etc.mkdir(parents=True, exist_ok=True)
    layout.state.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(config_path, layout.etc / "center.toml")
    done.append(f"cấu hình (configuration) → {layout.etc / 'center.toml'}")
    files = write_broker_files(config, layout.etc / "broker", hosts=hosts)
    done.append(f"Mosquitto: {len(files.passwords)} tài khoản (accounts) → {files.conf.parent}")
    units = layout.path("/etc/systemd/system")
    (units / "mosquitto.service.d").mkdir(parents=True, exist_ok=True)
    executable = str(Path(sys.executable).parent / "hangcho-gateway")
    if sync:
        token = layout.etc / "sync-token"
        token.write_text(sync[1].read_text().strip() + "\n")
        os.chmod(token, 0o600)
        done.append(f"đồng bộ (sync) → {sync[0]}; mã (token) → {token}")
    (units / "hangcho-gateway.service").write_text(gateway_unit(executable, http, audio, sync[0] if sync else None))
    (units / "mosquitto.service.d" / "hangcho.conf").write_text(MOSQUITTO_DROP_IN)
    done.append(f"systemd → {units / 'hangcho-gateway.service'}")
    if root == Path("/"):
        done += _owners(layout, files.conf.parent)
        if sync:
            shutil.chown(layout.etc / "sync-token", USER, USER)
    if systemctl:
        for args in (["daemon-reload"], ["enable", "--now", "mosquitto", "hangcho-gateway"]):
            subprocess.run(["systemctl", *args], check=True)
        done.append("systemctl: mosquitto, hangcho-gateway enabled and started")
    return done


def _owners(layout: Layout, broker: Path) -> list[str]:
    """The system user, and who may read what: only on the real machine."""
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--home-dir", "/var/lib/hangcho", "--shell", "/usr/sbin/nologin",
                        USER], check=True)  # fmt: skip
    shutil.chown(layout.state, USER, USER)
    shutil.chown(broker / "secrets.toml", group=USER)
    os.chmod(broker / "secrets.toml", 0o640)
    try:
        grp.getgrnam("mosquitto")
        for name in ("passwd", "acl", "broker.key"):
            shutil.chown(broker / name, group="mosquitto")
            os.chmod(broker / name, 0o640)
        shutil.chown(broker / "data", "mosquitto", "mosquitto")
    except KeyError:
        return [f"người dùng {USER}; chưa có nhóm mosquitto: apt-get install mosquitto rồi chạy lại"]
    return [f"người dùng (user) {USER}; quyền đọc tệp cho mosquitto và {USER}"]

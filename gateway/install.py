"""Install the gateway on a Raspberry Pi OS (or Debian) machine as systemd services.

Lays out the files a center needs and the units that run them:

    /etc/hangcho/center.toml                  the center's configuration (copied; 0600: it holds PINs)
    /etc/hangcho/broker/                      Mosquitto's accounts, ACL and configuration; the center's
                                              CA (ca.crt, ca.key) and the web certificate (web.crt, web.key)
    /etc/hangcho/nginx.conf                   nginx in front of the pages: TLS, the LAN's sockets
    /var/lib/hangcho/journal.db               the journal (created on first run)
    /var/lib/hangcho/voice-pack/              the built-in voice pack, said by espeak-ng (`voice-pack`)
    /var/lib/hangcho/voice/                   the center's own recordings (the /voice page; first run)
    /etc/systemd/system/hangcho-gateway.service
    /etc/systemd/system/mosquitto.service.d/hangcho.conf
    /etc/systemd/system/nginx.service.d/hangcho.conf

Every file holding a secret (center.toml, broker/secrets.toml, sync-token, the keys; the web
secret and the console's sign-ins the gateway makes itself) is 0600, owned by who reads it.

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
from .pki import Issued
from .proxy import CENTER_PATHS, NGINX_DROP_IN, gateway_addresses, nginx_conf, web_certificate
from .voice_pack import build_pack

USER = "hangcho"
APP_ADDRESS = "127.0.0.1:8081"  # the gateway's own web server, behind nginx
VOICE_PACK = "/var/lib/hangcho/voice-pack"  # built at install: the voice the gateway speaks until staff record one
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


def gateway_unit(executable: str, https_port: int, audio: str, sync_url: str | None = None) -> str:
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
  --secrets /etc/hangcho/broker/secrets.toml --http {APP_ADDRESS} --https-port {https_port} --audio "{audio}" \\
  --voice-pack {VOICE_PACK}{sync}
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


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)  # an older copy may have had a wider mode


def install(config_path: Path, root: Path, http: str, https: str, audio: str, systemctl: bool,
            sync: tuple[str, Path] | None = None, web_hosts: tuple[str, ...] = (),
            hosts: list[str] | None = None) -> list[str]:  # fmt: skip
    """Lay out files and units; return what was done, line by line. `http` and `https` are where
    nginx listens; `hosts` the addresses in the broker's TLS certificate (default: this machine's),
    `web_hosts` more names or addresses for the web certificate. `sync` is the central server's URL
    and a file holding this gateway's token (copied to /etc/hangcho/sync-token)."""
    config = load_center(config_path)
    layout = Layout(root)
    done = []
    layout.etc.mkdir(parents=True, exist_ok=True)
    layout.state.mkdir(parents=True, exist_ok=True)
    _write_private(layout.etc / "center.toml", config_path.read_bytes())
    done.append(f"cấu hình (configuration) → {layout.etc / 'center.toml'}")
    files = write_broker_files(config, layout.etc / "broker", hosts=hosts)
    os.chmod(files.secrets, 0o600)
    done.append(f"Mosquitto: {len(files.passwords)} tài khoản (accounts) → {files.conf.parent}")
    web_names = list(dict.fromkeys([*web_hosts, *(hosts or []), *gateway_addresses()]))
    tls = web_certificate(files.conf.parent, config.id, web_names)
    on_machine = Issued(Path("/") / tls.cert.relative_to(root), Path("/") / tls.key.relative_to(root))
    (layout.etc / "nginx.conf").write_text(nginx_conf(APP_ADDRESS, http, https, on_machine, CENTER_PATHS))
    done.append(f"nginx: HTTP {http}, HTTPS {https}; chứng chỉ (certificate) cho {', '.join(web_names)} → {tls.cert}")
    units = layout.path("/etc/systemd/system")
    (units / "mosquitto.service.d").mkdir(parents=True, exist_ok=True)
    executable = str(Path(sys.executable).parent / "hangcho-gateway")
    if sync:
        token = layout.etc / "sync-token"
        _write_private(token, (sync[1].read_text().strip() + "\n").encode())
        done.append(f"đồng bộ (sync) → {sync[0]}; mã (token) → {token}")
    pack = build_pack(layout.path(VOICE_PACK))
    done.append(f"giọng gọi số (voice pack): {len(pack.clips)} đoạn, espeak-ng → {layout.path(VOICE_PACK)}")
    https_port = int(https.rpartition(":")[2])
    unit = gateway_unit(executable, https_port, audio, sync[0] if sync else None)
    (units / "hangcho-gateway.service").write_text(unit)
    (units / "mosquitto.service.d" / "hangcho.conf").write_text(MOSQUITTO_DROP_IN)
    (units / "nginx.service.d").mkdir(parents=True, exist_ok=True)
    (units / "nginx.service.d" / "hangcho.conf").write_text(NGINX_DROP_IN)
    done.append(f"systemd → {units / 'hangcho-gateway.service'}")
    if root == Path("/"):
        done += _owners(layout, files.conf.parent)
        if sync:
            shutil.chown(layout.etc / "sync-token", USER, USER)
    if systemctl:
        for args in (["daemon-reload"], ["enable", "--now", "mosquitto", "hangcho-gateway", "nginx"],
                     ["restart", "nginx"]):  # fmt: skip
            subprocess.run(["systemctl", *args], check=True)
        done.append("systemctl: mosquitto, hangcho-gateway, nginx enabled and started")
    return done


def _owners(layout: Layout, broker: Path) -> list[str]:
    """The system user, and who may read what: only on the real machine."""
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--home-dir", "/var/lib/hangcho", "--shell", "/usr/sbin/nologin",
                        USER], check=True)  # fmt: skip
    shutil.chown(layout.state, USER, USER)
    for path in (layout.path(VOICE_PACK), *layout.path(VOICE_PACK).iterdir()):  # read only by the gateway
        shutil.chown(path, USER, USER)
    for private in (layout.etc / "center.toml", broker / "secrets.toml"):  # the gateway reads them; 0600 already
        shutil.chown(private, USER, USER)
    try:
        grp.getgrnam("mosquitto")
        for name in ("passwd", "acl", "broker.key"):
            shutil.chown(broker / name, group="mosquitto")
            os.chmod(broker / name, 0o640)
        shutil.chown(broker / "data", "mosquitto", "mosquitto")
    except KeyError:
        return [f"người dùng {USER}; chưa có nhóm mosquitto: apt-get install mosquitto rồi chạy lại"]
    return [f"người dùng (user) {USER}; quyền đọc tệp cho mosquitto và {USER}"]

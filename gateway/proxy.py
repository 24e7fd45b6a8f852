"""nginx in front of the gateway's pages: TLS with the center's CA, and the LAN's sockets.

The gateway's own server (waitress, gateway/web.py) listens on 127.0.0.1. nginx, from Debian,
listens on the LAN: it holds every client socket in its event loop, so a thousand idle or
slow sockets cost it a little memory each and no thread anywhere; it drops a client whose
headers (or TLS handshake) do not arrive within HEADER_TIMEOUT_S; it speaks TLS with the
certificate `broker-auth` issues from the center's CA (web.crt); and it hands the gateway only
whole requests. On plain HTTP it forwards only the paths web.PLAIN_PATHS names (the hall page,
its stream, static files, ticket pages) and redirects everything else to HTTPS. The same
configuration runs in a center (`hangcho-gateway install`) and in the tests (rig/proxy.py).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from contracts.nginx import http_common, listen

from .pki import Issued, ensure_ca, issue
from .web import PLAIN_PATHS

WORKER_CONNECTIONS = 4096
PER_CLIENT_REQUESTS = 32  # requests in progress from one address (hall streams are capped lower by the app)


@dataclass(frozen=True, slots=True)
class ProxyPaths:
    """Where nginx keeps its pid, temporary files and error log."""

    pid: Path
    temp: Path
    error_log: Path
    user: str | None  # the workers' user; None: nginx's default


CENTER_PATHS = ProxyPaths(Path("/run/nginx.pid"), Path("/var/lib/nginx"), Path("/var/log/nginx/error.log"), "www-data")


def web_certificate(folder: str | Path, center_id: str, hosts: list[str]) -> Issued:
    """web.crt / web.key for `hosts`, from the center's CA in `folder` (made if missing)."""
    return issue(ensure_ca(folder, center_id), folder, "web", hosts)


def gateway_addresses() -> list[str]:
    """The names and addresses boards, TVs and staff PCs may use for this machine."""
    name = socket.gethostname()
    hosts = ["127.0.0.1", "localhost", name, f"{name}.local"]
    if shutil.which("hostname"):
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, check=False).stdout
        hosts += out.split()
    return list(dict.fromkeys(hosts))


def _location(path: str) -> str:
    return f"location {path}" if path.endswith("/") and path != "/" else f"location = {path}"


def nginx_conf(upstream: str, http: str, https: str, tls: Issued, paths: ProxyPaths = CENTER_PATHS) -> str:
    """The whole nginx.conf: `upstream` is the gateway's own host:port, `http` and `https` nginx's."""
    https_port = int(https.rpartition(":")[2])
    to_https = f"https://$host{'' if https_port == 443 else f':{https_port}'}$request_uri"
    plain = "\n".join(f"        {_location(p)} {{ proxy_pass http://gateway; }}" for p in PLAIN_PATHS)
    temp = paths.temp
    user = f"user {paths.user};\n" if paths.user else ""
    return f"""# Written by hangcho-gateway (gateway/proxy.py); docs/gateway.md, The web server.
{user}worker_processes 1;
worker_rlimit_nofile {WORKER_CONNECTIONS * 2};
pid {paths.pid};
error_log {paths.error_log} warn;

events {{
    worker_connections {WORKER_CONNECTIONS};
}}

http {{
    include /etc/nginx/mime.types;
{http_common(temp)}
    client_header_buffer_size 1k;
    large_client_header_buffers 4 8k;
    client_max_body_size 1m;
    limit_conn_zone $binary_remote_addr zone=per_client:1m;
    limit_conn per_client {PER_CLIENT_REQUESTS};
    limit_conn_status 503;

    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers off;
    ssl_session_cache shared:hangcho:1m;
    ssl_session_timeout 1h;

    upstream gateway {{
        server {upstream};
        keepalive 8;
    }}
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $remote_addr;  # set, not appended: a client cannot choose its address
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_connect_timeout 5s;
    proxy_read_timeout 60s;  # the hall stream sends a heartbeat every 5 s

    server {{
        listen {listen(http)} default_server;
{plain}
        location / {{ return 301 {to_https}; }}
    }}

    server {{
        listen {listen(https)} ssl default_server;
        ssl_certificate {tls.cert};
        ssl_certificate_key {tls.key};
        location / {{ proxy_pass http://gateway; }}
    }}
}}
"""


NGINX_DROP_IN = """# Written by `hangcho-gateway install`: nginx runs the center's configuration (docs/gateway.md).
[Service]
ExecStartPre=
ExecStartPre=/usr/sbin/nginx -t -q -c /etc/hangcho/nginx.conf -g 'daemon on; master_process on;'
ExecStart=
ExecStart=/usr/sbin/nginx -c /etc/hangcho/nginx.conf -g 'daemon on; master_process on;'
ExecReload=
ExecReload=/usr/sbin/nginx -c /etc/hangcho/nginx.conf -g 'daemon on; master_process on;' -s reload
LimitNOFILE=16384
"""

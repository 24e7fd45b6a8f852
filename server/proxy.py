"""nginx in front of the province's server nodes: TLS, and one address for several gunicorns.

The server keeps no state of its own apart from the database (sessions, login throttling, the
audit log, token revocation and migrations all live in it), so any node answers any request and
nginx spreads them (`least_conn`; a node that stops answering is left out for FAIL_TIMEOUT_S). nginx
sets X-Forwarded-For and -Proto (set, never appended: a client cannot choose its address), so the
nodes run with `proxy_hops = 1`; it limits bodies to the sync API's 1 MB and drops slow clients.
`hangcho-server proxy-conf` prints this configuration for a deployment; the tests and the bench
run it as it is (rig/proxy.py, ServerProxy). docs/server.md, Deployment.
"""

from __future__ import annotations

from pathlib import Path

from contracts.nginx import http_common, listen

FAIL_TIMEOUT_S = 10
WORKER_CONNECTIONS = 4096


def nginx_conf(nodes: list[str], https: str, cert: Path, key: str | Path, http: str | None = None,
               pid: Path = Path("/run/nginx.pid"), temp: Path = Path("/var/lib/nginx"),
               error_log: Path = Path("/var/log/nginx/error.log"), user: str | None = "www-data") -> str:  # fmt: skip
    """The whole nginx.conf: `nodes` the gunicorns' host:port, `https` (and `http`, redirected) nginx's."""
    if not nodes:
        raise ValueError("at least one server node (host:port)")
    servers = "\n".join(f"        server {n} max_fails=2 fail_timeout={FAIL_TIMEOUT_S}s;" for n in nodes)
    https_port = int(https.rpartition(":")[2])
    plain = (
        ""
        if http is None
        else f"""
    server {{
        listen {listen(http)} default_server;
        location / {{ return 301 https://$host{"" if https_port == 443 else f":{https_port}"}$request_uri; }}
    }}
"""
    )
    return f"""# Written by hangcho-server proxy-conf (server/proxy.py); docs/server.md, Deployment.
{f"user {user};" if user else ""}
worker_processes auto;
pid {pid};
error_log {error_log} warn;

events {{
    worker_connections {WORKER_CONNECTIONS};
}}

http {{
{http_common(temp)}
    client_max_body_size 1m;  # the sync API's limit; the server refuses more itself too

    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers off;
    ssl_session_cache shared:hangcho:10m;
    ssl_session_timeout 1h;

    upstream province {{
        least_conn;
{servers}
        keepalive 32;
    }}
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $remote_addr;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_connect_timeout 5s;
    proxy_read_timeout 120s;  # a year's export
    proxy_next_upstream error timeout http_502 http_503;  # idempotent requests only (nginx's default)
{plain}
    server {{
        listen {listen(https)} ssl default_server;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{ proxy_pass http://province; }}
    }}
}}
"""

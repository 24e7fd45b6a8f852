"""What every nginx the project writes has in common: the gateway's in a center (gateway/proxy.py)
and the province's in front of its server nodes (server/proxy.py)."""

from __future__ import annotations

HEADER_TIMEOUT_S = 10  # request headers, and the TLS handshake before them


def listen(address: str) -> str:
    """`host:port` for nginx's `listen`, or the port alone for every address."""
    host, _, port = address.rpartition(":")
    return f"{host}:{port}" if host and host != "0.0.0.0" else port


def http_common(temp: object) -> str:
    """The `http` block's first lines: no version, no access log, temporary files under `temp`, and
    slow or idle clients dropped, never waited for (slowloris)."""
    return f"""    server_tokens off;
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    client_header_timeout {HEADER_TIMEOUT_S}s;
    client_body_timeout {HEADER_TIMEOUT_S}s;
    send_timeout 30s;
    keepalive_timeout 30s;
    reset_timedout_connection on;"""

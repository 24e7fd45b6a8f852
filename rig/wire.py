"""Clients for attacking the gateway's pages that are not the project's own code: raw sockets,
Python's http.client and ssl, and a TCP relay that records every byte it carries, to see what
crosses the wire."""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tech.listener import close_listener


def tls_context(ca: Path) -> ssl.SSLContext:
    """A client that trusts only the center's CA and checks the host name, as a staff PC does."""
    return ssl.create_default_context(cafile=str(ca))


class SourceHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS from a chosen loopback address (127.0.0.2, …): another machine, as the gateway sees it."""

    def __init__(self, host: str, port: int, source: str, context: ssl.SSLContext, timeout: float = 10):
        super().__init__(host, port, context=context, timeout=timeout, source_address=(source, 0))


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: dict[str, str] = field(default_factory=dict)


def request(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> Answer:  # fmt: skip
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    cookies = {}
    for name, value in r.getheaders():
        if name.lower() == "set-cookie":
            k, _, v = value.split(";", 1)[0].partition("=")
            cookies[k.strip()] = v.strip()
    return Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, data, cookies)


class RecordingRelay:
    """127.0.0.1:port → target, copying bytes both ways and keeping them all."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._lock = threading.Lock()
        self._bytes = bytearray()
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def captured(self) -> bytes:
        with self._lock:
            return bytes(self._bytes)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                with self._lock:
                    self._bytes += chunk
                dst.sendall(chunk)
        except OSError:
            return
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._stop.set()
        close_listener(self.listener)

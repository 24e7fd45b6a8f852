"""nginx on this machine with the configurations that are deployed, on free ports: in front of a
gateway as a center runs it (gateway/proxy.py), and in front of several server nodes as a province
does (server/proxy.py). How the tests reach the pages over HTTPS."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from gateway.pki import Issued, ensure_ca, issue
from gateway.proxy import ProxyPaths, nginx_conf, web_certificate

from .broker import free_port


class Proxy:
    """nginx for the gateway at `upstream` (host:port), its TLS from the CA in `tls_dir`."""

    def __init__(self, upstream: str, tls_dir: Path, folder: Path, center_id: str = "test"):
        self.http_port, self.https_port = free_port(), free_port()
        self.tls: Issued = web_certificate(tls_dir, center_id, ["127.0.0.1", "localhost"])
        self.ca = tls_dir / "ca.crt"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "temp").mkdir(exist_ok=True)
        paths = ProxyPaths(folder / "nginx.pid", folder / "temp", folder / "error.log",
                           "root" if os.geteuid() == 0 else None)  # fmt: skip
        self.conf = folder / "nginx.conf"
        self.conf.write_text(nginx_conf(upstream, f"127.0.0.1:{self.http_port}", f"127.0.0.1:{self.https_port}",
                                        self.tls, paths))  # fmt: skip
        self.log = paths.error_log
        self.http = f"http://127.0.0.1:{self.http_port}"
        self.https = f"https://127.0.0.1:{self.https_port}"
        self.proc = _nginx(self.conf, self.https_port)

    def stop(self) -> None:
        _stop(self.proc)


class ServerProxy:
    """nginx for the province's server `nodes` (host:port each), TLS from a CA made in `folder`."""

    def __init__(self, nodes: list[str], folder: Path):
        from server.proxy import nginx_conf as province_conf

        self.https_port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "temp").mkdir(exist_ok=True)
        self.tls = issue(ensure_ca(folder, "province"), folder, "web", ["127.0.0.1", "localhost"])
        self.ca = folder / "ca.crt"
        self.conf = folder / "nginx.conf"
        self.conf.write_text(province_conf(nodes, f"127.0.0.1:{self.https_port}", self.tls.cert, self.tls.key,
                                           pid=folder / "nginx.pid", temp=folder / "temp",
                                           error_log=folder / "error.log",
                                           user="root" if os.geteuid() == 0 else None))  # fmt: skip
        self.https = f"https://127.0.0.1:{self.https_port}"
        self.proc = _nginx(self.conf, self.https_port)

    def stop(self) -> None:
        _stop(self.proc)


def _nginx(conf: Path, port: int) -> subprocess.Popen:
    """nginx with `conf`, once it listens on `port`."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    proc = subprocess.Popen([binary, "-c", str(conf), "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"nginx did not start: {proc.stderr.read().decode()}") from None
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError("nginx did not start listening")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()  # a fast shutdown: open streams are closed
        proc.wait(timeout=10)

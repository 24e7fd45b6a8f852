"""nginx in front of a gateway on this machine, with the configuration a center runs
(gateway/proxy.py), on free ports: how the tests reach the pages over HTTPS."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from gateway.pki import Issued
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
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen([binary, "-c", str(self.conf), "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"nginx did not start: {self.proc.stderr.read().decode()}") from None
                time.sleep(0.02)
        raise RuntimeError("nginx did not start listening")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # a fast shutdown: open streams are closed
            self.proc.wait(timeout=10)

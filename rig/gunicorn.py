"""The central server under gunicorn, as a province runs it, on a free port of this machine:
for the tests that need the real HTTP server (chunked bodies, the API tester)."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from pathlib import Path

from .broker import free_port


class Gunicorn:
    def __init__(self, database_url: str, instance: Path, secret_key: str, workers: int = 1,
                 settings: str | None = None):  # fmt: skip
        """`settings`: the TOML of a settings file for this node (e.g. "proxy_hops = 1")."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "HANGCHO_SERVER_DATABASE_URL": database_url, "HANGCHO_SERVER_SECRET_KEY": secret_key,
               "HANGCHO_SERVER_INSTANCE": str(instance)}  # fmt: skip
        if settings is not None:
            instance.mkdir(parents=True, exist_ok=True)
            (instance / f"server-{self.port}.toml").write_text(settings, encoding="utf-8")
            env["HANGCHO_SERVER_CONFIG"] = str(instance / f"server-{self.port}.toml")
        command = [str(Path(sys.executable).with_name("gunicorn")), "-w", str(workers), "-b", f"127.0.0.1:{self.port}",
                   "--log-level", "warning", "server.app:create_app()"]  # fmt: skip
        self.process = subprocess.Popen(command, env=env)

    def __enter__(self) -> Gunicorn:
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/api/v1/openapi.json")
                if conn.getresponse().status == 200:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.__exit__()
                raise AssertionError(f"gunicorn did not start on port {self.port}")
            time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

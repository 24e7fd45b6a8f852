"""The gateway as a process (`hangcho-gateway run`), for the faults that kill it, the benchmarks
and the demo."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

CLI = Path(sys.executable).parent / "hangcho-gateway"


def start_gateway(config: Path, broker_port: int, secrets: Path, journal: Path, log: Path, http: str = "127.0.0.1:0",
                  extra: Sequence[str] = (), audio: str = "none") -> subprocess.Popen:  # fmt: skip
    """`hangcho-gateway run` on the given broker; its output appended to `log`; `audio` is its --audio."""
    args = [str(CLI), "run", "--config", str(config), "--journal", str(journal)]
    args += ["--broker", f"127.0.0.1:{broker_port}", "--secrets", str(secrets)]
    args += ["--http", http, "--audio", audio, *extra]
    with open(log, "ab") as out:
        return subprocess.Popen(args, stdout=out, stderr=out)

"""The gateway as a process (`hangcho-gateway run`), for the faults that kill it and the benchmarks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CLI = Path(sys.executable).parent / "hangcho-gateway"


def start_gateway(config: Path, broker_port: int, secrets: Path, journal: Path, log: Path) -> subprocess.Popen:
    """`hangcho-gateway run` on the test broker; its output appended to `log`."""
    args = [str(CLI), "run", "--config", str(config), "--journal", str(journal)]
    args += ["--broker", f"127.0.0.1:{broker_port}", "--secrets", str(secrets)]
    args += ["--http", "127.0.0.1:0", "--audio", "none"]
    with open(log, "ab") as out:
        return subprocess.Popen(args, stdout=out, stderr=out)

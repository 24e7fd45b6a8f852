"""`make faults`' report: the scores the fault runs recorded (JSON lines) as the table of
docs/reliability.md, between its markers, with the date and the machine."""

from __future__ import annotations

import json
import os
import platform
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reliability.md"
BEGIN, END = "<!-- faults:begin -->", "<!-- faults:end -->"
COUNTS = ("lost", "duplicated", "unexpected")


def merged(lines: list[str]) -> dict[str, dict]:
    """One row per fault: runs of the same fault (e.g. per database) add up."""
    rows: dict[str, dict] = defaultdict(lambda: {"runs": 0, "rounds": 0, "operations": 0, **dict.fromkeys(COUNTS, 0),
                                                 "integrity": "ok", "full": True})  # fmt: skip
    for line in lines:
        s = json.loads(line)
        row = rows[s["fault"]]
        row["runs"] += 1
        for key in ("rounds", "operations", *COUNTS):
            row[key] += s[key]
        row["full"] &= s["full"]
        if s["integrity"] != "ok":
            row["integrity"] = s["integrity"]
    return dict(rows)


def table(rows: dict[str, dict]) -> str:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    out = [f"Measured {now} on {machine}.", "",
           "| fault | runs | rounds | operations | lost | duplicated | unexpected | integrity |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]  # fmt: skip
    for fault, r in sorted(rows.items()):
        mark = "" if r["full"] else " (quick)"
        out.append(f"| {fault}{mark} | {r['runs']} | {r['rounds']} | {r['operations']:,} | {r['lost']} | "
                   f"{r['duplicated']} | {r['unexpected']} | {r['integrity']} |")  # fmt: skip
    return "\n".join(out)


def write(rows: dict[str, dict]) -> None:
    text = DOC.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{BEGIN}\n{table(rows)}\n{END}{tail}", encoding="utf-8")


def main(path: str) -> int:
    lines = Path(path).read_text(encoding="utf-8").splitlines() if Path(path).exists() else []
    if not lines:
        print(f"faults: no scores in {path}", file=sys.stderr)
        return 1
    rows = merged(lines)
    write(rows)
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "bench" / "faults.jsonl")))

"""The firmware's durable outbox and boot count, on the real MicroPython interpreter."""

from __future__ import annotations

import json
import os
import signal
import time

OPEN = "from outbox import Outbox, next_boot, COMPACT_BYTES\n"


def test_events_survive_a_reboot_until_acknowledged(micropython, tmp_path):
    out = micropython(
        OPEN
        + """
o = Outbox("outbox.log", "kiosk-1", next_boot("boot.count"))
a = o.add('{"kind":"press","button":0}')
b = o.add('{"kind":"press","button":1}')
c = o.add('{"kind":"press","button":2}')
o.ack(b)
print(a, c)
"""
    )
    a, c = out.split()
    out = micropython(
        OPEN
        + """
o = Outbox("outbox.log", "kiosk-1", next_boot("boot.count"))
for i, p in o.pending.items():
    print(i, p)
print("next", o.add('{"kind":"press","button":3}'))
"""
    )
    lines = out.splitlines()
    assert [line.split(" ", 1)[0] for line in lines[:2]] == [a, c]
    assert json.loads(lines[0].split(" ", 1)[1]) == {"kind": "press", "button": 0, "id": a}
    boot_a, boot_next = int(a.split(":")[1]), int(lines[2].split()[1].split(":")[1])
    assert boot_next == boot_a + 1  # a new boot: new ids cannot repeat the old ones


def test_a_line_cut_by_a_power_cut_is_ignored(micropython, tmp_path):
    micropython(OPEN + 'o = Outbox("outbox.log", "k", 1)\no.add(\'{"kind":"press","button":0}\')\n')
    with open(tmp_path / "outbox.log", "a") as f:
        f.write('+k:1:2 {"kind":"pre')  # the write that was cut
    out = micropython(OPEN + 'o = Outbox("outbox.log", "k", 2)\nprint(list(o.pending))\n')
    assert out.strip() == "['k:1:1']"


def test_compaction_keeps_the_log_small_and_the_pending_events(micropython, tmp_path):
    out = micropython(
        OPEN
        + """
o = Outbox("outbox.log", "k", 1)
keep = o.add('{"kind":"press","button":5}')
for n in range(400):
    o.ack(o.add('{"kind":"press","button":1}'))
print(keep, len(o.pending))
"""
    )
    keep, pending = out.split()
    assert pending == "1"
    assert os.path.getsize(tmp_path / "outbox.log") < 8192 + 200
    out = micropython(OPEN + 'o = Outbox("outbox.log", "k", 2)\nprint(list(o.pending))\n')
    assert out.strip() == f"['{keep}']"


def test_a_compaction_cut_in_the_middle_is_recovered(micropython, tmp_path):
    (tmp_path / "outbox.log.new").write_text('+k:1:7 {"kind":"press","button":0,"id":"k:1:7"}\n')
    out = micropython(OPEN + 'o = Outbox("outbox.log", "k", 2)\nprint(list(o.pending))\n')
    assert out.strip() == "['k:1:7']"


def test_boot_count(micropython, tmp_path):
    first = int(micropython(OPEN + 'print(next_boot("boot.count"))\n'))
    assert first >= 1
    assert int(micropython(OPEN + 'print(next_boot("boot.count"))\n')) == first + 1
    os.rename(tmp_path / "boot.count", tmp_path / "boot.count.new")  # cut between remove and rename
    assert int(micropython(OPEN + 'print(next_boot("boot.count"))\n')) == first + 2


def test_a_fresh_board_starts_from_a_random_boot_count(micropython, tmp_path):
    counts = set()
    for _ in range(3):
        (tmp_path / "boot.count").unlink(missing_ok=True)
        counts.add(int(micropython(OPEN + 'print(next_boot("boot.count"))\n')))
    assert len(counts) == 3  # an erased flash does not start again at 1


def test_kill_9_loses_no_added_event(micropython_process, micropython, tmp_path):
    proc = micropython_process(
        OPEN
        + """
import time
o = Outbox("outbox.log", "k", next_boot("boot.count"))
print("ready")
n = 0
while True:
    i = o.add('{"kind":"press","button":0}')
    print("added", i)
    n += 1
    if n % 3 == 0:
        o.ack(i)
        print("acked", i)
"""
    )
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    said = [parts for parts in (line.split() for line in proc.stdout.read().splitlines()) if len(parts) == 2]
    added = [i for word, i in said if word == "added"]
    acked = {i for word, i in said if word == "acked"}
    assert len(added) > 20
    out = micropython(OPEN + 'o = Outbox("outbox.log", "k", 99)\nprint(" ".join(o.pending))\n', heap="1024wK")
    pending = set(out.split())
    # Everything reported added and not acked is still there; the one being written may be too.
    assert set(added) - acked <= pending
    assert pending - (set(added) - acked) <= {added[-1].rsplit(":", 1)[0] + f":{int(added[-1].rsplit(':', 1)[1]) + 1}"}

"""The gateway's disk full: a clear error, no corruption, recovery when space returns.

A real full disk, not a mock: the journal sits on a small tmpfs that a filler file fills, so
SQLite meets ENOSPC in the middle of its WAL writes as it would on a Raspberry Pi's SD card.
While the disk is full the gateway must keep running, log once and clearly that the disk is
full and where, acknowledge nothing it could not make durable (the kiosks keep resending, as
the firmware's outbox does), and not spin. When space returns (the filler deleted, or the
mount grown) every waiting press gets exactly one ticket, and the journal passes SQLite's
integrity check. Mounting needs root (as on this machine and in CI).
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from faults.checker import check_presses, integrity, rounds
from rig.gateway import start_gateway as rig_gateway

CONFIG = Path(__file__).resolve().parents[1] / "data" / "small_center.toml"
SIZE_K = 8192  # room for the WAL up to its 1000-page checkpoint (about 4 MiB), so only the filler fills it
ROOM = 48 * 1024  # what the filler leaves free: a few presses' worth of WAL frames
GROW_K = 2048  # how much a remount adds, in the rounds that free space that way
DISK_FULL_LINE = "journal: disk full at {}"
WRITING_AGAIN_LINE = "journal: writing again at {}"


@contextlib.contextmanager
def small_disk(folder: Path, size_k: int):
    """A tmpfs of size_k KiB mounted on folder, always unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.fail("the disk-full fault mounts a small tmpfs and needs root (run the fault tests as root, as CI does)")
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_k}k", "tmpfs", str(folder)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs on {folder} (root with CAP_SYS_ADMIN is needed): {done.stderr.strip()}")
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], check=True)


def grow(folder: Path, size_k: int) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size_k}k", str(folder)], check=True)


def fill(path: Path, room: int) -> None:
    """Write path until the disk is full, then give `room` bytes back."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        chunk = bytes(64 * 1024)
        while True:
            try:
                if os.write(fd, chunk) < len(chunk):
                    chunk = chunk[: max(len(chunk) // 2, 1)]
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                if len(chunk) == 1:
                    break
                chunk = chunk[: len(chunk) // 2]
        os.ftruncate(fd, max(os.fstat(fd).st_size - room, 0))
    finally:
        os.close(fd)


def start_gateway(broker, journal: Path, log: Path) -> subprocess.Popen:
    return rig_gateway(CONFIG, broker.port, broker.files.secrets, journal, log)


def stop_gateway(gateway: subprocess.Popen) -> None:
    if gateway.poll() is None:
        gateway.send_signal(signal.SIGTERM)
        try:
            gateway.wait(timeout=10)
        except subprocess.TimeoutExpired:
            gateway.kill()
            gateway.wait()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Presses:
    """Presses on alternating kiosks (buttons A and B), and what became of them."""

    def __init__(self, kiosks, rng: random.Random):
        self.kiosks, self.rng, self.sent = kiosks, rng, set()

    def press(self) -> str:
        event_id = self.kiosks[len(self.sent) % len(self.kiosks)].press(button=self.rng.randrange(2))
        self.sent.add(event_id)
        return event_id

    def acked(self) -> dict[str, dict]:
        return {i: ack for k in self.kiosks for i, ack in list(k.acked.items())}

    def pending(self) -> set[str]:
        return {i for k in self.kiosks for i in list(k.pending)}

    def until_full(self, disk: Path, limit: int = 200, patience: float = 2.0) -> int:
        """Press one at a time until a press stays unacknowledged: the disk is full. How many went through."""
        for n in range(limit):
            event_id = self.press()
            deadline = time.monotonic() + patience
            while event_id not in self.acked():
                if time.monotonic() > deadline:
                    return n
                time.sleep(0.01)
        free = shutil.disk_usage(disk).free // 1024
        raise AssertionError(f"{limit} presses acked with {free} KiB free: does the gateway ack unwritten events?")

    def wait_all_acked(self, timeout: float) -> None:
        for k in self.kiosks:
            k.wait_all_acked(timeout)


def while_full(presses: Presses, gateway: subprocess.Popen, journal: Path, seconds: float = 3.0) -> dict:
    """More presses on the full disk; the gateway stays up, acks none, keeps the journal sound."""
    stuck = {presses.press() for _ in range(10)}
    cpu0, t0 = cpu_seconds(gateway.pid), time.monotonic()
    time.sleep(seconds)  # the kiosks resend every 0.5 s meanwhile
    cpu = (cpu_seconds(gateway.pid) - cpu0) / (time.monotonic() - t0)
    assert gateway.poll() is None, "the gateway exited on a full disk"
    assert stuck <= presses.pending(), f"acknowledged on a full disk: {sorted(stuck - presses.pending())[:5]}"
    assert integrity(journal) == "ok"
    wal = journal.with_name(journal.name + "-wal")
    return {"cpu": round(cpu, 3), "pending": len(presses.pending()), "wal_bytes": wal.stat().st_size}


class Gateway:
    """The gateway process on the small disk, restarted as systemd would, and the lines it logs."""

    def __init__(self, broker, disk: Path, log: Path):
        self.broker, self.disk, self.log, self.journal = broker, disk, log, disk / "journal.db"
        self.full_line, self.outages = DISK_FULL_LINE.format(self.journal), 0
        self.proc = start_gateway(broker, self.journal, log)

    def restart_while_full(self, how: signal.Signals, presses: Presses) -> None:
        """Stopped (or killed) on the full disk, it starts again, says so once, and acks nothing."""
        pending = presses.pending()
        self.proc.send_signal(how)
        self.proc.wait(timeout=10)
        self.proc = start_gateway(self.broker, self.journal, self.log)
        self.outages += 1  # the new process logs its own outage, once
        deadline = time.monotonic() + 15
        while self.lines(self.full_line) < self.outages:
            assert self.proc.poll() is None, f"the gateway did not start on a full disk:\n{self.log.read_text()}"
            assert time.monotonic() < deadline, f"no disk-full line after the restart:\n{self.log.read_text()}"
            time.sleep(0.05)
        assert pending <= presses.pending(), "acknowledged on a full disk after a restart"

    def lines(self, text: str) -> int:
        return self.log.read_text(errors="replace").count(text)


def free_space(disk: Path, r: int, size_k: int) -> int:
    """Space comes back: the filler deleted (even rounds) or the file system grown (odd ones)."""
    if r % 2 == 0:
        (disk / f"filler-{r}").unlink()
        return size_k
    grow(disk, size_k + GROW_K)
    return size_k + GROW_K


def test_a_full_disk_acks_nothing_and_recovers_when_space_returns(broker, kiosk_with_outbox, tmp_path, scored):
    n, size_k, seen, started = rounds(full=5, quick=1), SIZE_K, [], time.monotonic()
    presses = Presses([kiosk_with_outbox("kiosk-1"), kiosk_with_outbox("kiosk-2")], random.Random(5))
    with small_disk(tmp_path / "disk", SIZE_K) as disk:
        gateway = Gateway(broker, disk, tmp_path / "gateway.log")
        try:
            presses.press()
            presses.wait_all_acked(timeout=15)  # up and journaling
            for r in range(n):
                fill(disk / f"filler-{r}", ROOM)
                went_through = presses.until_full(disk)
                state = while_full(presses, gateway.proc, gateway.journal)
                gateway.outages += 1
                if r % 3 == 0:  # systemd restarts a gateway that stopped, whatever the disk
                    gateway.restart_while_full(signal.SIGKILL if r == 0 else signal.SIGTERM, presses)
                size_k, t0 = free_space(disk, r, size_k), time.monotonic()
                presses.wait_all_acked(timeout=15)
                seen.append({"round": r, "went_through": went_through, **state, "recovery_s": time.monotonic() - t0})
        finally:
            stop_gateway(gateway.proc)
        score = check_presses("the gateway's disk full", presses.sent, presses.acked(), gateway.journal)
    print(f"{len(presses.sent)} presses, {n} fill/free rounds in {time.monotonic() - started:.1f} s: {seen}")
    print(*(line for line in gateway.log.read_text().splitlines() if "journal" in line), sep="\n")
    assert gateway.lines(gateway.full_line) == gateway.outages, "one disk-full line per process and outage"
    assert gateway.lines(WRITING_AGAIN_LINE.format(gateway.journal)) == n
    assert max(s["cpu"] for s in seen) < 0.5, f"the gateway spins while it waits for space: {seen}"
    score.rounds, score.operations = n, len(presses.sent)
    scored(score)

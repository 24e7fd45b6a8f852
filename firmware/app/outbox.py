# The durable outbox: an event is on flash before it is published, and leaves only when the
# gateway's ack for its id arrives (docs/protocol.md). A Wi-Fi drop, a broker or gateway restart,
# a reset or a power cut loses nothing: on boot the log is read back and every pending event is
# sent again. The gateway answers a resent id with its first answer, so nothing happens twice.
#
# The log is append-only text, one line per change: "+<id> <payload>" when an event is added,
# "-<id>" when it is acknowledged. A line cut short by a power cut has no newline and is ignored.
# When the log grows past COMPACT_BYTES it is rewritten with only the pending events, through a
# temporary file and a rename, so a cut in the middle leaves either the old log or the new one.
#
# Runs on MicroPython (ESP32, and the unix port in the tests) and on CPython.
import os
from collections import OrderedDict

from micropython import const

COMPACT_BYTES = const(8192)
MAX_PENDING = const(64)


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


class OutboxFull(Exception):
    pass


class Outbox:
    def __init__(self, path, device_id, boot):
        self.path = path
        self.device_id = device_id
        self.boot = boot
        self.seq = 0
        self.pending = OrderedDict()  # id -> payload, oldest first (a plain dict is unordered on MicroPython)
        self._size = 0
        self._load()

    def _load(self):
        tmp = self.path + ".new"
        if _exists(tmp) and not _exists(self.path):
            os.rename(tmp, self.path)  # a compaction was cut after removing the old log
        if not _exists(self.path):
            return
        with open(self.path) as f:
            for line in f:
                self._size += len(line)
                if not line.endswith("\n"):
                    break  # the last write was cut by a power cut: it never happened
                if line[0] == "+":
                    space = line.find(" ")
                    if space > 1:
                        self.pending[line[1:space]] = line[space + 1 : -1]
                elif line[0] == "-":
                    self.pending.pop(line[1:-1], None)

    def _append(self, line):
        with open(self.path, "a") as f:
            f.write(line)
            f.flush()
        self._size += len(line)

    def add(self, body):
        """Keep an event on flash and return its id; the caller publishes it afterwards.

        `body` is the event's JSON object text without an id, e.g. '{"kind":"press","button":0}';
        the id is spliced in here so that what is on flash is exactly what is sent."""
        if len(self.pending) >= MAX_PENDING:
            raise OutboxFull()
        self.seq += 1
        event_id = "%s:%d:%d" % (self.device_id, self.boot, self.seq)
        payload = '%s,"id":"%s"}' % (body.rstrip()[:-1], event_id)
        self._append("+%s %s\n" % (event_id, payload))
        self.pending[event_id] = payload
        return event_id

    def ack(self, event_id):
        """The gateway has it durably: forget it. Unknown ids (a duplicate ack) are ignored."""
        if self.pending.pop(event_id, None) is None:
            return False
        self._append("-%s\n" % event_id)
        if self._size > COMPACT_BYTES:
            self.compact()
        return True

    def compact(self):
        tmp = self.path + ".new"
        with open(tmp, "w") as f:
            for event_id, payload in self.pending.items():
                f.write("+%s %s\n" % (event_id, payload))
        os.remove(self.path)
        os.rename(tmp, self.path)
        self._size = sum(len(i) + len(p) + 3 for i, p in self.pending.items())


def next_boot(path):
    """Count this boot: event ids stay unique across resets because they carry the boot count.

    A board with no count yet (new, or its flash erased and reprovisioned) starts from a random
    number, so its new ids cannot repeat ids the gateway's journal already holds."""
    tmp = path + ".new"
    boot = None
    for candidate in (path, tmp):  # tmp: a write was cut between removing the old and renaming
        try:
            with open(candidate) as f:
                boot = int(f.read().strip())
            break
        except (OSError, ValueError):
            pass
    if boot is None:
        boot = int.from_bytes(os.urandom(4), "big") % 1000000000
    boot += 1
    with open(tmp, "w") as f:
        f.write("%d\n" % boot)
    try:
        os.remove(path)
    except OSError:
        pass
    os.rename(tmp, path)
    return boot

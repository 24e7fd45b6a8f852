"""Voice calls in the hall, offline: a chime, then "Mời công dân số A023 đến quầy số 5".

A call is recorded clips joined (gateway/voice_pack.py: the built-in pack is espeak-ng's
voice one word per clip, the center may record its own on the recording page). Each call
becomes one WAV file. Calls wait in a bounded queue (a recall replaces the same ticket's
waiting call) and a single player thread plays them one after another, so a new call never
cuts off the one being spoken. Where the sound goes is a `sink`: a command such as `aplay -q`
on a Raspberry Pi, or a folder, which is how the tests and the demo listen.
"""

from __future__ import annotations

import io
import logging
import shlex
import subprocess
import threading
import time
import wave
from collections import deque
from collections.abc import Callable
from functools import cache
from pathlib import Path

from .voice_clips import DIGITS, LETTERS, call_text, number_words
from .voice_espeak import RATE, chime, speak
from .voice_pack import Voice

__all__ = ["DIGITS", "LETTERS", "RATE", "Announcer", "call_text", "call_wav", "chime", "number_words", "speak"]

log = logging.getLogger("hangcho.voice")
VOICE_QUEUE = 8  # calls waiting at most: about half a minute of speech


@cache
def _default_voice() -> Voice:
    return Voice()


def call_wav(ticket: str, counter: int) -> bytes:
    """One call as a complete WAV file, in the built-in voice pack."""
    return _default_voice().call_wav(ticket, counter)


def command_sink(command: str) -> Callable[[str, bytes], None]:
    """Play each call with a command that reads a WAV on standard input (e.g. `aplay -q`)."""
    args = shlex.split(command)

    def play(name: str, wav: bytes) -> None:
        subprocess.run(args, input=wav, check=True, timeout=60)

    return play


def folder_sink(folder: str | Path, realtime: bool = True) -> Callable[[str, bytes], None]:
    """Write each call to a numbered WAV file, taking as long as playing it would (unless not realtime)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    count = 0

    def play(name: str, wav: bytes) -> None:
        nonlocal count
        count += 1
        (folder / f"{count:04d}-{name}.wav").write_bytes(wav)
        if realtime:
            with wave.open(io.BytesIO(wav)) as w:
                time.sleep(w.getnframes() / w.getframerate())

    return play


class Announcer:
    """Calls waiting to be spoken; one player thread, so nothing is cut off.

    The queue is bounded: at most `most` calls wait (a call takes about four seconds to say, so
    the last of VOICE_QUEUE waits half a minute). A recall of a ticket that still waits replaces
    that call in its place, with the newest counter, instead of queueing a second one. When the
    queue is full, the call that has waited longest is dropped, counted and logged: it is the
    stalest, the hall page still shows it, and the newest call is the one a citizen is now
    being waited for at a counter."""

    def __init__(self, sink: Callable[[str, bytes], None], render: Callable[[str, int], bytes] = call_wav,
                 most: int = VOICE_QUEUE):  # fmt: skip
        self.sink, self.render, self.most = sink, render, most
        self.dropped = 0
        self._waiting: deque[tuple[str, int]] = deque()
        self._playing = False
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="hangcho-voice", daemon=True)
        self._thread.start()

    def announce(self, ticket: str, counter: int) -> None:
        with self._cond:
            for i, (waiting, _) in enumerate(self._waiting):
                if waiting == ticket:
                    self._waiting[i] = (ticket, counter)
                    return
            if len(self._waiting) >= self.most:
                old, at = self._waiting.popleft()
                self.dropped += 1
                log.warning("voice: %d calls waiting; %s at counter %s is not spoken", self.most, old, at)
            self._waiting.append((ticket, counter))
            self._cond.notify()

    def waiting(self) -> list[tuple[str, int]]:
        with self._cond:
            return list(self._waiting)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._waiting and not self._closed:
                    self._cond.wait()
                if not self._waiting:
                    return
                ticket, counter = self._waiting.popleft()
                self._playing = True
            try:
                self.sink(f"{ticket}-{counter}", self.render(ticket, counter))
            except Exception:  # a broken speaker must not stop the queue
                log.exception("could not announce %s at counter %s", ticket, counter)
            finally:
                with self._cond:
                    self._playing = False
                    self._cond.notify_all()

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until every queued call has been played (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while (self._waiting or self._playing) and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)

    def close(self) -> None:
        """Play what waits (for at most five seconds), then stop."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=5)

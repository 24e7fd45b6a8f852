"""Voice calls in the hall, offline: a chime, then "Mời công dân số A023 đến quầy số 5".

Speech comes from espeak-ng's Vietnamese voice; the chime is synthesised here.
Each call becomes one WAV file (chime + speech). Calls wait in a bounded queue
(a recall replaces the same ticket's waiting call) and a single player thread
plays them one after another, so a new call never cuts off the one being spoken.
Where the sound goes is a `sink`: a command such as `aplay -q` on a Raspberry Pi,
or a folder, which is how the tests listen.
"""

from __future__ import annotations

import io
import logging
import math
import shlex
import shutil
import struct
import subprocess
import threading
import time
import wave
from collections import deque
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("hangcho.voice")
RATE = 22050  # espeak-ng's output rate
VOICE_QUEUE = 8  # calls waiting at most: about half a minute of speech
DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
LETTERS = {
    "A": "A", "B": "Bê", "C": "Xê", "D": "Dê", "E": "E", "F": "Ép", "G": "Giê", "H": "Hát", "I": "I",
    "J": "Gi", "K": "Ca", "L": "Lờ", "M": "Mờ", "N": "Nờ", "O": "O", "P": "Pê", "Q": "Quy", "R": "Rờ",
    "S": "Ét", "T": "Tê", "U": "U", "V": "Vê", "W": "Vê kép", "X": "Ích", "Y": "I dài", "Z": "Dét",
}  # fmt: skip


def number_words(n: int) -> str:
    """A counter number in Vietnamese words, 0–999: 5 → năm, 15 → mười lăm, 21 → hai mươi mốt."""
    if not 0 <= n <= 999:
        raise ValueError(f"{n} is outside 0–999")
    if n < 10:
        return DIGITS[n]
    if n < 100:
        tens, unit = divmod(n, 10)
        head = "mười" if tens == 1 else f"{DIGITS[tens]} mươi"
        if unit == 0:
            return head
        if unit == 5:
            return f"{head} lăm"
        if unit == 1 and tens > 1:
            return f"{head} mốt"
        if unit == 4 and tens > 1:
            return f"{head} tư"
        return f"{head} {DIGITS[unit]}"
    hundreds, rest = divmod(n, 100)
    head = f"{DIGITS[hundreds]} trăm"
    if rest == 0:
        return head
    if rest < 10:
        return f"{head} linh {DIGITS[rest]}"
    return f"{head} {number_words(rest)}"


def call_text(ticket: str, counter: int) -> str:
    """What is said: the ticket letter by name and its digits one by one, as staff read them."""
    letter, digits = ticket[0], ticket[1:]
    spelled = " ".join(DIGITS[int(c)] for c in digits)
    return f"Mời công dân số {LETTERS.get(letter, letter)} {spelled}, đến quầy số {number_words(counter)}"


def chime(rate: int = RATE) -> bytes:
    """Two soft tones (ding–dong), 16-bit mono PCM."""
    frames = bytearray()
    for freq, seconds in ((784.0, 0.35), (587.3, 0.55)):
        count = int(rate * seconds)
        for i in range(count):
            envelope = math.exp(-3.0 * i / count)
            frames += struct.pack("<h", int(12000 * envelope * math.sin(2 * math.pi * freq * i / rate)))
    return bytes(frames)


def speak(text: str, voice: str = "vi", speed: int = 140) -> bytes:
    """espeak-ng's WAV for the text, as 16-bit mono PCM frames at RATE."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    wav = subprocess.run([binary, "-v", voice, "-s", str(speed), "--stdout", text], capture_output=True, check=True)
    with wave.open(io.BytesIO(wav.stdout)) as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (RATE, 1, 2):
            raise RuntimeError(f"unexpected espeak-ng output {w.getparams()}")
        return w.readframes(w.getnframes())


def call_wav(ticket: str, counter: int, voice: str = "vi") -> bytes:
    """One call as a complete WAV file: chime, a short pause, the sentence."""
    pcm = chime() + b"\0\0" * int(RATE * 0.25) + speak(call_text(ticket, counter), voice)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm)
    return out.getvalue()


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

    def __init__(self, sink: Callable[[str, bytes], None], voice: str = "vi", most: int = VOICE_QUEUE):
        self.sink, self.voice, self.most = sink, voice, most
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
                self.sink(f"{ticket}-{counter}", call_wav(ticket, counter, self.voice))
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

"""How soon a call's sound is ready: from `announce` to the WAV in the sink's hands.

The gateway's Announcer (gateway/voice.py) with the built-in voice pack (gateway/voice_pack.py,
built into a temporary folder by espeak-ng first), for CALLS varied calls: every letter, one
to four digits, counters 1–99. Each call is announced when the previous one is ready, so the
figure is the making of the sound, not a queue. The old voice (one espeak-ng run per call,
the whole sentence) is measured in the same run for comparison. Figures: voice_ready_p99_ms
(target ≤ 150 ms on the gateway) and _p50_ms, voice_espeak_ready_p99_ms, voice_pack_load_ms.
Run alone with `python -m bench.voice`.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from gateway.voice import Announcer
from gateway.voice_clips import LETTERS, call_text
from gateway.voice_espeak import sentence_wav
from gateway.voice_pack import Voice, build_pack

CALLS = 200


def varied_calls(count: int = CALLS, seed: int = 14) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    letters = sorted(LETTERS)
    return [(f"{rng.choice(letters)}{rng.randrange(10 ** rng.randint(1, 4)):0{rng.randint(1, 4)}d}", rng.randint(1, 99))
            for _ in range(count)]  # fmt: skip


def ready_ms(render: Callable[[str, int], bytes], calls: list[tuple[str, int]]) -> list[float]:
    """Per call, ms from announce to the sink receiving its WAV."""
    ready, took = threading.Event(), []
    started = [0.0]

    def sink(name: str, wav: bytes) -> None:
        took.append((time.perf_counter() - started[0]) * 1000)
        ready.set()

    announcer = Announcer(sink, render)
    for ticket, counter in calls:
        ready.clear()
        started[0] = time.perf_counter()
        announcer.announce(ticket, counter)
        if not ready.wait(30):
            raise RuntimeError(f"{ticket} at {counter} was not ready in 30 s")
    announcer.close()
    return took


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def figures() -> dict[str, float]:
    calls = varied_calls()
    with tempfile.TemporaryDirectory() as folder:
        build_pack(Path(folder))
        started = time.perf_counter()
        voice = Voice(Path(folder))
        load_ms = (time.perf_counter() - started) * 1000
        pack = ready_ms(voice.call_wav, calls)
    espeak = ready_ms(lambda ticket, counter: sentence_wav(call_text(ticket, counter)), calls)
    return {"voice_ready_p50_ms": statistics.median(pack), "voice_ready_p99_ms": p99(pack),
            "voice_espeak_ready_p99_ms": p99(espeak), "voice_pack_load_ms": load_ms}  # fmt: skip


if __name__ == "__main__":
    for key, value in figures().items():
        print(f"{key:32} {value:,.2f}")

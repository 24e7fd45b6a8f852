"""Voice packs made of known sounds, so a test can find each clip in a call."""

from __future__ import annotations

import io
import math
import wave
from array import array
from pathlib import Path

from gateway.voice_clips import CLIPS
from gateway.voice_dsp import encode_wav
from gateway.voice_pack import MANIFEST, Manifest, manifest_json, write_atomic

RATE = 22050


def tone(freq: float, seconds: float = 0.3, amplitude: float = 8000, rate: int = RATE, pad_s: float = 0.0) -> array:
    """A sine, with `pad_s` of silence before and after (as a recording has)."""
    pad = array("h", bytes(2 * int(rate * pad_s)))
    body = array("h", (round(amplitude * math.sin(2 * math.pi * freq * i / rate)) for i in range(int(rate * seconds))))
    return pad + body + pad


def frequency_of(text: str) -> float:
    """A different tone for each text: 200–1,000 Hz."""
    return 200 + sum(map(ord, text)) % 800


class Say:
    """espeak-ng stand-in: a tone per text, and the texts it was asked for."""

    def __init__(self):
        self.asked: list[str] = []

    def __call__(self, text: str) -> array:
        self.asked.append(text)
        return tone(frequency_of(text), pad_s=0.05)


def write_pack(folder: Path, clips: dict[str, array], rate: int = RATE, name: str = "test") -> Path:
    """A pack of exactly these clips."""
    folder.mkdir(parents=True, exist_ok=True)
    for key, samples in clips.items():
        write_atomic(folder / f"{key}.wav", encode_wav(rate, samples))
    manifest = Manifest(name, rate, {k: (f"{k}.wav", CLIPS[k]) for k in clips})
    write_atomic(folder / MANIFEST, manifest_json(manifest))
    return folder


def samples_of(wav: bytes) -> tuple[int, array]:
    with wave.open(io.BytesIO(wav)) as w:
        out = array("h")
        out.frombytes(w.readframes(w.getnframes()))
        return w.getframerate(), out


def contains(haystack: array, needle: array) -> bool:
    """Whether `needle`'s samples appear, in order and unchanged, in `haystack`."""
    return needle.tobytes() in haystack.tobytes() and len(needle) > 0

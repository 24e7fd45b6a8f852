"""The synthesised sounds: espeak-ng's Vietnamese voice and the two-tone chime.

espeak-ng makes the built-in voice pack (one word per clip, gateway/voice_pack.py), says a
word a pack lacks, and is the old whole-sentence voice the benchmark compares with.
"""

from __future__ import annotations

import io
import math
import shutil
import struct
import subprocess
import wave
from array import array

from .voice_dsp import encode_wav

RATE = 22050  # espeak-ng's output rate, and the built-in pack's
VOICE = "vi"  # Northern Vietnamese
SPEED_WPM = 125  # a word alone at 125 words a minute keeps its tone clear; 140 (the old sentence speed) rushes it
PITCH = 40  # of 0–99 (50 is espeak-ng's): a little lower sounds less thin through a hall's loudspeaker


def chime(rate: int = RATE) -> bytes:
    """Two soft tones (ding–dong), 16-bit mono PCM."""
    frames = bytearray()
    for freq, seconds in ((784.0, 0.35), (587.3, 0.55)):
        count = int(rate * seconds)
        for i in range(count):
            envelope = math.exp(-3.0 * i / count)
            frames += struct.pack("<h", int(12000 * envelope * math.sin(2 * math.pi * freq * i / rate)))
    return bytes(frames)


def speak(text: str, voice: str = VOICE, speed: int = SPEED_WPM, pitch: int = PITCH) -> bytes:
    """espeak-ng's WAV for the text, as 16-bit mono PCM frames at RATE."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    args = [binary, "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text]
    wav = subprocess.run(args, capture_output=True, check=True, timeout=30)
    with wave.open(io.BytesIO(wav.stdout)) as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (RATE, 1, 2):
            raise RuntimeError(f"unexpected espeak-ng output {w.getparams()}")
        return w.readframes(w.getnframes())


def speak_samples(text: str) -> array:
    samples = array("h")
    samples.frombytes(speak(text))
    return samples


def sentence_wav(text: str, voice: str = VOICE) -> bytes:
    """The old voice: chime, a pause, the whole sentence from one espeak-ng run (the benchmark's comparison)."""
    samples = array("h")
    samples.frombytes(chime() + b"\0\0" * int(RATE * 0.25) + speak(text, voice, speed=140, pitch=50))
    return encode_wav(RATE, samples)

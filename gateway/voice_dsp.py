"""Sound as numbers, in pure Python: WAV in and out, levelling, trimming, resampling, crossfades.

No numpy on the gateway: the costly steps (levelling, trimming, resampling) run once per clip,
when a pack loads or a recording arrives; a call only joins clips already levelled, which
touches FADE_S of samples per join and copies the rest (gateway/voice_pack.py).
Samples are 16-bit mono, as array('h').
"""

from __future__ import annotations

import io
import math
import wave
from array import array

FADE_S = 0.02
"""Crossfade between two joined clips: 20 ms, short enough to keep words apart, long enough to hide a click."""
TARGET_DBFS = -20.0
"""Every clip is levelled to this gated RMS (speech frames only), so a quiet and a loud recording sound alike."""
CEILING_DBFS = -1.0
"""…unless that would push a peak above this: then the gain stops at the peak."""
GATE_DBFS = -45.0
"""20 ms frames quieter than this are pauses, not speech, and do not count in the level (as LUFS gates)."""
FRAME_S = 0.02
FULL = 32767.0


class ClipError(ValueError):
    """A sound that cannot be used: the message says why, in Vietnamese then English."""


def decode_wav(data: bytes) -> tuple[int, array]:
    """(rate, mono samples) of a 16-bit PCM WAV, stereo mixed down; ClipError for anything else."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            channels, width, rate, count = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            frames = w.readframes(count)
    except (wave.Error, EOFError, ValueError) as e:
        raise ClipError(f"không phải tệp WAV PCM (not a PCM WAV file): {e}") from e
    if width != 2:
        raise ClipError(f"cần mẫu 16 bit (need 16-bit samples), got {8 * width}-bit")
    if channels not in (1, 2):
        raise ClipError(f"cần 1 hoặc 2 kênh (need mono or stereo), got {channels}")
    samples = array("h")
    samples.frombytes(frames[: len(frames) - len(frames) % (2 * channels)])
    if channels == 2:
        samples = array("h", [(a + b) // 2 for a, b in zip(samples[::2], samples[1::2], strict=True)])
    return rate, samples


def encode_wav(rate: int, samples: array) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return out.getvalue()


def dbfs(value: float) -> float:
    return 20 * math.log10(max(value, 1e-9) / FULL)


def _frames(samples: array, rate: int) -> list[float]:
    """Each FRAME_S frame's mean square."""
    size = max(1, int(rate * FRAME_S))
    return [
        sum(s * s for s in samples[i : i + size]) / len(samples[i : i + size]) for i in range(0, len(samples), size)
    ]


def gated_rms(samples: array, rate: int) -> float:
    """The RMS over the frames louder than GATE_DBFS (0 when all is quiet)."""
    gate = (FULL * 10 ** (GATE_DBFS / 20)) ** 2
    loud = [f for f in _frames(samples, rate) if f >= gate]
    return math.sqrt(sum(loud) / len(loud)) if loud else 0.0


def level(samples: array, rate: int, target_dbfs: float = TARGET_DBFS) -> array:
    """The clip scaled to `target_dbfs` gated RMS, its peak kept under CEILING_DBFS; silence stays silence."""
    rms = gated_rms(samples, rate)
    if rms == 0.0:
        return array("h", samples)
    peak = max(abs(s) for s in samples)
    gain = min(FULL * 10 ** (target_dbfs / 20) / rms, FULL * 10 ** (CEILING_DBFS / 20) / peak)
    return array("h", [round(s * gain) for s in samples])


def trim(samples: array, rate: int, below_peak_db: float = 40.0, margin_s: float = 0.03) -> array:
    """Silence cut from both ends (frames quieter than the peak less `below_peak_db`), keeping `margin_s`
    of it so a word's tail is not clipped: a recording's click-to-speech delay is not heard in a call."""
    frames = _frames(samples, rate)
    if not frames:
        return array("h")
    limit = max(frames) * 10 ** (-below_peak_db / 10)
    loud = [i for i, f in enumerate(frames) if f > limit]
    if not loud or max(frames) == 0:
        return array("h")
    size, margin = max(1, int(rate * FRAME_S)), int(rate * margin_s)
    start = max(0, loud[0] * size - margin)
    end = min(len(samples), (loud[-1] + 1) * size + margin)
    return samples[start:end]


def resample(samples: array, source: int, target: int) -> array:
    """Linear interpolation to `target` Hz; going down, a box filter first so high hiss does not fold back."""
    if source == target or not samples:
        return array("h", samples)
    values: list[float] = list(samples)
    width = int(source / target)
    if width >= 2:
        run, box = 0.0, []
        for i, s in enumerate(values):
            run += s - (values[i - width] if i >= width else 0.0)
            box.append(run / min(i + 1, width))
        values = box
    count, step, last = int(len(values) * target / source), source / target, len(values) - 1
    out = array("h", bytes(2 * count))
    for i in range(count):
        x = i * step
        j = int(x)
        a = values[j]
        b = values[j + 1] if j < last else a
        out[i] = max(-32768, min(32767, round(a + (b - a) * (x - j))))
    return out


def silence(rate: int, seconds: float) -> array:
    return array("h", bytes(2 * int(rate * seconds)))


def join(parts: list[array], fade: int) -> array:
    """The parts one after another, each overlapping the previous by `fade` samples with a linear crossfade
    (less where a part is shorter than two fades)."""
    out = array("h")
    for part in parts:
        n = min(fade, len(out), len(part) // 2)
        if n:
            head = len(out) - n
            for i in range(n):
                w = (i + 1) / (n + 1)
                out[head + i] = round(out[head + i] * (1 - w) + part[i] * w)
        out.extend(part[n:])
    return out

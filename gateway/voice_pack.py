"""Voice packs: recorded clips joined into a call, as real queue systems do.

A pack is a folder of 16-bit PCM WAV clips and `manifest.json`:

    {"name": "espeak-ng vi", "rate": 22050,
     "clips": {"phrase.call": {"file": "phrase.call.wav", "text": "Mời công dân số"}, …}}

with one clip per key of gateway/voice_clips.CLIPS. A call is the chime and the clips of
`call_clips` joined with FADE_S crossfades, every clip levelled to TARGET_DBFS gated RMS
(gateway/voice_dsp.py). `Voice` decodes, resamples and levels every clip once, when it loads,
so a call costs only the joining. It takes each key from the center's own recordings (the
folder the recording page writes, gateway/voice_admin.py), else from the base pack (the
built-in one `build_pack` makes with espeak-ng, or `run --voice-pack DIR`), else espeak-ng says
that word alone: logged once per key, at load. A broken manifest is refused with the file and
the reason in the log; the gateway goes on speaking.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .voice_clips import CHIME, CLIPS, PAUSE_AFTER_S, PAUSE_BEFORE_S, call_clips
from .voice_dsp import FADE_S, ClipError, decode_wav, encode_wav, gated_rms, join, level, resample, silence, trim
from .voice_espeak import RATE, chime, speak_samples

log = logging.getLogger("hangcho.voice")
MANIFEST = "manifest.json"
DEFAULT_PACK = Path(__file__).parent / "voicepack"
"""The built-in pack (espeak-ng, one word per clip): `make` builds it; on a Pi `install` builds its own."""
RATES = (8000, 48000)  # a clip's or a pack's sample rate, lowest and highest accepted
MAX_FILE_BYTES = 4 << 20  # a clip file in a pack: a few seconds of sound is far less
MAX_UPLOAD_BYTES = 1 << 20  # a recording from the page: 10 s at 48 kHz fits (the web server's own limit)
UPLOAD_S = (0.3, 10.0)  # a recording's length, as sent
CLIP_S = (0.08, 5.0)  # its length once the silence at both ends is cut


class PackError(ValueError):
    """A pack that cannot be read at all: the message names the file and why."""


@dataclass(frozen=True, slots=True)
class Manifest:
    name: str
    rate: int
    clips: dict[str, tuple[str, str]]  # key → (file, text)


def parse_manifest(data: bytes, source: str) -> Manifest:
    """The manifest's content, validated; PackError naming `source` and the key otherwise."""

    def bad(where: str, why: str) -> PackError:
        return PackError(f"{source}: {where}: {why}")

    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise bad("JSON", f"không đọc được (not valid JSON): {e}") from e
    if not isinstance(doc, dict) or set(doc) - {"name", "rate", "clips"}:
        raise bad("top level", "cần đúng các khóa name, rate, clips (need exactly name, rate, clips)")
    name, rate, clips = doc.get("name"), doc.get("rate"), doc.get("clips")
    if not isinstance(name, str) or not name.strip():
        raise bad("name", "cần tên gói (need the pack's name)")
    if isinstance(rate, bool) or not isinstance(rate, int) or not RATES[0] <= rate <= RATES[1]:
        raise bad("rate", f"cần số nguyên {RATES[0]}–{RATES[1]} Hz (need an integer rate), got {rate!r}")
    if not isinstance(clips, dict):
        raise bad("clips", "cần một bảng khóa → tệp (need a table of key → file)")
    out = {}
    for key, entry in clips.items():
        if key not in CLIPS:
            raise bad(f"clips.{key}", "khóa không có trong danh sách (unknown clip key, see gateway/voice_clips.py)")
        file = entry.get("file") if isinstance(entry, dict) else None
        text = entry.get("text", CLIPS[key]) if isinstance(entry, dict) else None
        if not isinstance(file, str) or not file.endswith(".wav") or "/" in file or "\\" in file or file[0] == ".":
            why = "cần tên tệp .wav trong thư mục gói (need a .wav name in the pack's folder)"
            raise bad(f"clips.{key}.file", f"{why}, got {file!r}")
        if not isinstance(text, str):
            raise bad(f"clips.{key}.text", "cần chuỗi (need a string)")
        out[key] = (file, text)
    return Manifest(name, rate, out)


def manifest_json(manifest: Manifest) -> bytes:
    clips = {key: {"file": file, "text": text} for key, (file, text) in manifest.clips.items()}
    doc = {"name": manifest.name, "rate": manifest.rate, "clips": clips}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode()


def read_manifest(folder: Path) -> Manifest:
    path = Path(folder) / MANIFEST
    try:
        data = _read_at_most(path)
    except OSError as e:
        raise PackError(f"{path}: không đọc được (cannot read): {e.strerror or e}") from e
    if data is None:
        raise PackError(f"{path}: tệp quá lớn (over {MAX_FILE_BYTES >> 20} MiB)")
    return parse_manifest(data, str(path))


def _read_at_most(path: Path) -> bytes | None:
    """The file's bytes, or None past MAX_FILE_BYTES: a link to /dev/zero ends too."""
    with open(path, "rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
    return None if len(data) > MAX_FILE_BYTES else data


def read_clip(path: Path, rate: int) -> array:
    """A pack's clip as samples at `rate`; ClipError when it is missing, too big or not 16-bit PCM WAV."""
    try:
        data = _read_at_most(path)
    except OSError as e:
        raise ClipError(f"không đọc được (cannot read): {e.strerror or e}") from e
    if data is None:
        raise ClipError(f"tệp quá lớn (file over {MAX_FILE_BYTES >> 20} MiB)")
    source, samples = decode_wav(data)
    if not RATES[0] <= source <= RATES[1]:
        raise ClipError(f"tần số lấy mẫu {source} Hz ngoài {RATES[0]}–{RATES[1]} (sample rate out of range)")
    return resample(samples, source, rate)


def write_atomic(path: Path, data: bytes) -> None:
    """Whole or not at all: a crash mid-write leaves the old file, never half a clip."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def build_pack(folder: Path, say: Callable[[str], array] = speak_samples, name: str = "espeak-ng vi") -> Manifest:
    """The built-in pack: every clip of CLIPS said by espeak-ng on its own (the chime synthesised), trimmed."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    clips = {}
    for key, text in CLIPS.items():
        if key == CHIME:
            samples = array("h")
            samples.frombytes(chime())
        else:
            samples = trim(say(text), RATE)
        write_atomic(folder / f"{key}.wav", encode_wav(RATE, samples))
        clips[key] = (f"{key}.wav", text)
    manifest = Manifest(name, RATE, clips)
    write_atomic(folder / MANIFEST, manifest_json(manifest))
    return manifest


def prepare_recording(data: bytes, rate: int) -> array:
    """A recording from the page as a clip at `rate`: checked hard, converted, its silent ends cut."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ClipError(f"tệp quá lớn (over {MAX_UPLOAD_BYTES >> 20} MiB)")
    source, samples = decode_wav(data)
    if not RATES[0] <= source <= RATES[1]:
        raise ClipError(f"tần số lấy mẫu {source} Hz ngoài {RATES[0]}–{RATES[1]} Hz (sample rate out of range)")
    seconds = len(samples) / source
    if not UPLOAD_S[0] <= seconds <= UPLOAD_S[1]:
        raise ClipError(
            f"bản ghi dài {_s(seconds)} giây, cần {_s(UPLOAD_S[0])}–{_s(UPLOAD_S[1])} (length out of range)"
        )
    clip = trim(resample(samples, source, rate), rate)
    if gated_rms(clip, rate) == 0.0:
        raise ClipError("không nghe thấy tiếng nói (nothing but silence): kiểm tra micrô")
    if not CLIP_S[0] <= len(clip) / rate <= CLIP_S[1]:
        spoken = f"phần có tiếng dài {_s(len(clip) / rate)} giây, cần {_s(CLIP_S[0])}–{_s(CLIP_S[1])}"
        raise ClipError(f"{spoken} (spoken part out of range)")
    return clip


def _s(seconds: float) -> str:
    """Seconds as Vietnamese write them: 0,08; 2,5; 10."""
    return f"{seconds:.2f}".rstrip("0").rstrip(".").replace(".", ",")


class Voice:
    """Every clip levelled in memory, from the center's recordings, the base pack or espeak-ng, in that order."""

    def __init__(self, base: Path | None = DEFAULT_PACK, center: Path | None = None,
                 say: Callable[[str], array] = speak_samples, fade_s: float = FADE_S):  # fmt: skip
        self.base, self.center, self.say = base, center, say
        self.clips: dict[str, array] = {}
        self.source: dict[str, str] = {}  # key → "center", "pack" or "espeak"
        self._lock = threading.Lock()
        self._mute = False  # espeak-ng failed once: the words it cannot say are not told one by one
        manifest = self._manifest(base, "gói giọng (voice pack)", missing_ok=False)
        self.rate = manifest.rate if manifest else RATE
        self.name = manifest.name if manifest else "espeak-ng"
        self.fade = int(self.rate * fade_s)
        self._silence = {s: silence(self.rate, s) for s in (*PAUSE_AFTER_S.values(), *PAUSE_BEFORE_S.values())}
        recorded = self._manifest(center, "bản ghi của trung tâm (the center's recordings)", missing_ok=True)
        for key in CLIPS:
            self._load(key, base, manifest, center, recorded)

    def _manifest(self, folder: Path | None, what: str, missing_ok: bool) -> Manifest | None:
        if folder is None or (missing_ok and not (Path(folder) / MANIFEST).exists()):
            return None
        try:
            return read_manifest(Path(folder))
        except PackError as e:
            hint = "" if (Path(folder) / MANIFEST).exists() else f" (hangcho-gateway voice-pack {folder})"
            log.error("voice: %s bị từ chối (refused), espeak-ng nói thay: %s%s", what, e, hint)
            return None

    def _load(self, key: str, base, manifest, center, recorded) -> None:
        problems = []
        for folder, pack, source in ((center, recorded, "center"), (base, manifest, "pack")):
            if pack is None or key not in pack.clips:
                continue
            try:
                self._use(key, read_clip(Path(folder) / pack.clips[key][0], self.rate), source)
            except ClipError as e:
                problems.append(f"{Path(folder) / pack.clips[key][0]}: {e}")
                continue
            if problems:  # the center's recording is broken: the base pack's clip is said instead
                log.warning(
                    "voice: bản ghi %s không dùng được, dùng gói giọng (recording unusable): %s", key, problems[0]
                )
            return
        if manifest is not None and not problems:
            problems.append(f"{Path(base) / MANIFEST}: không có khóa này (no such key)")
        self._fallback(key, "; ".join(problems), quiet=manifest is None)

    def _fallback(self, key: str, why: str, quiet: bool) -> None:
        """espeak-ng for that word alone (the chime synthesised), told once, at load: calls then never ask again."""
        if not quiet:
            log.warning("voice: thiếu đoạn %s (%r), espeak-ng nói thay (clip missing, espeak-ng says it): %s",
                        key, CLIPS[key], why)  # fmt: skip
        try:
            if key == CHIME:
                samples = array("h")
                samples.frombytes(chime(self.rate))
            else:
                samples = resample(trim(self.say(CLIPS[key]), RATE), RATE, self.rate)
        except Exception as e:  # no espeak-ng: that word is left out, the rest is said
            if not self._mute:
                log.error("voice: espeak-ng không nói được %r (could not say it): %s", CLIPS[key], e)
            self._mute, samples = True, array("h")
        self._use(key, samples, "espeak")

    def _use(self, key: str, samples: array, source: str) -> None:
        levelled = level(samples, self.rate)
        with self._lock:
            self.clips[key], self.source[key] = levelled, source

    def sequence(self, ticket: str, counter: int) -> list[array]:
        """The parts of a call in order: clips and the pauses a reader makes."""
        parts = []
        for key in call_clips(ticket, counter):
            if key in PAUSE_BEFORE_S:
                parts.append(self._silence[PAUSE_BEFORE_S[key]])
            parts.append(self.clips[key])
            if key in PAUSE_AFTER_S:
                parts.append(self._silence[PAUSE_AFTER_S[key]])
        return parts

    def call_wav(self, ticket: str, counter: int) -> bytes:
        """One call as a complete WAV file."""
        return encode_wav(self.rate, join(self.sequence(ticket, counter), self.fade))

    def record(self, key: str, data: bytes) -> None:
        """A recording from the page: checked, converted, written into the center's folder atomically, used
        from the next call on. ClipError (nothing written) when it is not fit; KeyError for an unknown key."""
        if key not in CLIPS:
            raise KeyError(key)
        if self.center is None:
            raise ClipError("gateway này không lưu bản ghi (this gateway keeps no recordings)")
        clip = prepare_recording(data, self.rate)
        folder = Path(self.center)
        with self._lock:
            folder.mkdir(parents=True, exist_ok=True)
            try:
                manifest = read_manifest(folder) if (folder / MANIFEST).exists() else None
            except PackError as e:
                log.error("voice: %s; viết lại (written anew)", e)
                manifest = None
            clips = dict(manifest.clips) if manifest else {}
            clips[key] = (f"{key}.wav", CLIPS[key])
            write_atomic(folder / f"{key}.wav", encode_wav(self.rate, clip))
            write_atomic(folder / MANIFEST, manifest_json(Manifest("bản ghi của trung tâm", self.rate, clips)))
        self._use(key, clip, "center")

    def status(self) -> list[dict]:
        """Every clip: key, text, and where it comes from now (for the recording page)."""
        with self._lock:
            return [{"key": k, "text": t, "source": self.source[k]} for k, t in CLIPS.items()]


def pack_problems(folder: Path) -> list[str]:
    """What a pack lacks, one line a clip (empty: complete); PackError when its manifest is broken."""
    manifest = read_manifest(Path(folder))
    problems = []
    for key, text in CLIPS.items():
        if key not in manifest.clips:
            problems.append(f"{key} ({text}): thiếu (missing)")
            continue
        try:
            read_clip(Path(folder) / manifest.clips[key][0], manifest.rate)
        except ClipError as e:
            problems.append(f"{key} ({text}): {e}")
    return problems

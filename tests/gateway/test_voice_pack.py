"""Voice packs: the clips of a call, their joining and levelling, the fallback, broken packs."""

from __future__ import annotations

import logging
import math
import time
from array import array

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.voice import Announcer, folder_sink
from gateway.voice_clips import CLIPS, LETTERS, call_clips, call_text
from gateway.voice_dsp import FADE_S, TARGET_DBFS, ClipError, dbfs, decode_wav, gated_rms, join
from gateway.voice_pack import MANIFEST, PackError, Voice, build_pack, parse_manifest, prepare_recording
from tests.gateway.voice_helpers import RATE, Say, contains, frequency_of, samples_of, tone, write_pack

D, W, TO = "digit.", "word.", "phrase.counter"


@pytest.mark.parametrize(
    ("ticket", "counter", "spoken"),
    [
        ("A001", 1, ["letter.A", D + "0", D + "0", D + "1", TO, D + "1"]),
        ("B7", 5, ["letter.B", D + "7", TO, D + "5"]),
        ("C105", 10, ["letter.C", D + "1", D + "0", D + "5", TO, W + "ten"]),
        ("D042", 11, ["letter.D", D + "0", D + "4", D + "2", TO, W + "ten", D + "1"]),
        ("E99", 15, ["letter.E", D + "9", D + "9", TO, W + "ten", W + "five_after_ten"]),
        ("F123", 20, ["letter.F", D + "1", D + "2", D + "3", TO, D + "2", W + "tens"]),
        (
            "W001",
            21,
            ["letter.W", D + "0", D + "0", D + "1", TO, D + "2", W + "tens", W + "one_after_tens"],
        ),
        (
            "X010",
            24,
            ["letter.X", D + "0", D + "1", D + "0", TO, D + "2", W + "tens", W + "four_after_tens"],
        ),
        ("Y5", 55, ["letter.Y", D + "5", TO, D + "5", W + "tens", W + "five_after_ten"]),
        (
            "Z1234",
            99,
            ["letter.Z", D + "1", D + "2", D + "3", D + "4", TO, D + "9", W + "tens", D + "9"],
        ),
        ("A2", 14, ["letter.A", D + "2", TO, W + "ten", D + "4"]),  # mười bốn, not mười tư
        ("A3", 105, ["letter.A", D + "3", TO, D + "1", W + "hundred", W + "zero_tens", D + "5"]),
    ],
)
def test_the_clips_of_a_call_in_order(ticket, counter, spoken):
    assert call_clips(ticket, counter) == ["chime", "phrase.call", *spoken]


def test_every_clip_of_every_call_is_in_the_list():
    used = {k for letter in LETTERS for n in range(1, 1000) for k in call_clips(f"{letter}{n % 10}{n:03d}", n)}
    assert used == set(CLIPS)  # no clip is missing, none is never used
    assert call_text("W001", 21) == "Mời công dân số Vê kép không không một, đến quầy số hai mươi mốt"
    with pytest.raises(ValueError):
        call_clips("a1", 1)


def _dc(value: int, seconds: float = 0.2) -> array:
    return array("h", [value]) * int(RATE * seconds)


def test_clips_are_joined_with_a_20_ms_crossfade(tmp_path):
    pack = write_pack(tmp_path / "pack", {k: _dc(4000 if k != "digit.1" else -4000) for k in CLIPS})
    voice = Voice(pack, say=Say())
    _, out = samples_of(voice.call_wav("A1", 5))  # … letter.A then digit.1, no pause between them
    level = round(32767 * 10 ** (TARGET_DBFS / 20))
    runs = [i for i in range(1, len(out)) if out[i - 1] == level and out[i] < level]  # where a fade from +level starts
    ramps = []
    for start in runs:
        end = start
        while end < len(out) and out[end] not in (level, -level):
            end += 1
        if end < len(out) and out[end] == -level:
            ramps.append(end - start)
    assert ramps == [int(RATE * FADE_S)] == [441]  # the one join from + to −: 441 samples, 20 ms
    parts = voice.sequence("A1", 5)
    assert len(out) == sum(map(len, parts)) - (len(parts) - 1) * 441


def test_a_quiet_and_a_loud_recording_come_out_alike(tmp_path):
    clips = {k: tone(frequency_of(k)) for k in CLIPS}
    clips["letter.A"] = tone(300, 0.5, amplitude=700)  # a quiet recording, −33 dBFS
    clips["digit.1"] = tone(500, 0.5, amplitude=26000)  # a loud one, −2 dBFS
    voice = Voice(write_pack(tmp_path / "pack", clips), say=Say())
    _, out = samples_of(voice.call_wav("A1", 5))
    parts, at, where = voice.sequence("A1", 5), 0, {}
    for part in parts:  # each part starts where the previous ended less one crossfade
        where.setdefault(id(part), at)
        at += len(part) - voice.fade
    levels = []
    for key in ("letter.A", "digit.1"):
        start = where[id(voice.clips[key])] + voice.fade
        levels.append(dbfs(gated_rms(out[start : start + int(0.4 * RATE)], RATE)))
    assert all(abs(got - TARGET_DBFS) < 0.5 for got in levels), levels  # both at −20 dBFS, 31 dB apart before


def test_a_missing_clip_is_said_by_espeak_and_told_once(tmp_path, caplog):
    clips = {k: tone(frequency_of(k)) for k in CLIPS if k != "digit.7"}
    pack = write_pack(tmp_path / "pack", clips)
    (pack / "digit.8.wav").write_bytes(b"RIFF garbage")  # unreadable: said by espeak-ng too
    (pack / "digit.9.wav").unlink()
    (pack / "digit.9.wav").symlink_to("/dev/zero")  # endless: refused at 4 MiB
    say = Say()
    caplog.set_level(logging.WARNING, "hangcho.voice")
    voice = Voice(pack, say=say)
    folder = tmp_path / "calls"
    announcer = Announcer(folder_sink(folder, realtime=False), voice.call_wav)
    announcer.announce("A077", 8)
    announcer.announce("B789", 3)
    announcer.drain()
    announcer.close()
    assert sorted(say.asked) == ["bảy", "chín", "tám"]  # those words only, once each, for both calls
    told = [r.getMessage() for r in caplog.records]
    assert len(told) == 3 and all(sum(f"digit.{d}" in m for m in told) == 1 for d in "789")
    assert "không phải tệp WAV PCM" in next(m for m in told if "digit.8" in m)
    assert f"{pack / 'digit.9.wav'}: tệp quá lớn" in next(m for m in told if "digit.9" in m)
    assert voice.source["digit.7"] == voice.source["digit.8"] == "espeak" and voice.source["digit.1"] == "pack"
    for wav in sorted(folder.glob("*.wav")):
        assert contains(samples_of(wav.read_bytes())[1], voice.clips["digit.7"][voice.fade : -voice.fade])


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"name": "x", "rate": 22050, "clips": {"digit.10": {"file": "a.wav"}}}', "clips.digit.10: khóa không có"),
        (b'{"name": "x", "rate": 96000, "clips": {}}', "rate: cần số nguyên"),
        (b'{"name": "x", "rate": 22050, "clips": {"digit.1": {"file": "../../etc/x.wav"}}}', "clips.digit.1.file"),
        (b'{"name": "x", "rate": 22050, "clips": [], "more": 1}', "top level"),
    ],
)
def test_a_broken_manifest_is_refused_naming_the_file_and_why(content, why):
    with pytest.raises(PackError) as e:
        parse_manifest(content, "/srv/pack/manifest.json")
    assert str(e.value).startswith("/srv/pack/manifest.json: ") and why in str(e.value)


def test_a_broken_pack_never_stops_the_calls(tmp_path, caplog):
    pack = write_pack(tmp_path / "pack", {"digit.1": tone(440)})
    (pack / MANIFEST).write_text('{"name": "x", "rate": "fast", "clips": {}}')
    say = Say()
    voice = Voice(pack, say=say)
    assert f"{pack / MANIFEST}: rate" in caplog.text and "bị từ chối" in caplog.text
    rate, out = samples_of(voice.call_wav("A1", 1))
    assert rate == RATE and len(out) > RATE and set(voice.source.values()) == {"espeak"}
    result = CliRunner().invoke(main, ["voice-pack", "--check", str(pack)])
    assert result.exit_code == 1 and f"{pack / MANIFEST}: rate" in result.output


def test_the_built_in_pack_is_every_clip_said_by_espeak(tmp_path):
    started = time.monotonic()
    result = CliRunner().invoke(main, ["voice-pack", str(tmp_path / "pack")])
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 30
    check = CliRunner().invoke(main, ["voice-pack", "--check", str(tmp_path / "pack")])
    assert check.exit_code == 0 and "đủ mọi đoạn" in check.output
    voice = Voice(tmp_path / "pack", say=Say())
    assert set(voice.source.values()) == {"pack"}
    for key, clip in voice.clips.items():
        assert 0.08 < len(clip) / RATE < 2.0, key  # trimmed: a word, not seconds of silence
    rate, out = samples_of(voice.call_wav("A023", 5))
    assert rate == RATE and 3.0 < len(out) / rate < 8.0


def test_a_recording_is_checked_hard():
    def wav(samples: array, rate: int = 48000, channels: int = 1, width: int = 2) -> bytes:
        import io
        import wave

        out = io.BytesIO()
        with wave.open(out, "wb") as w:
            w.setnchannels(channels)
            w.setsampwidth(width)
            w.setframerate(rate)
            w.writeframes(samples.tobytes())
        return out.getvalue()

    speech = tone(440, 1.0, rate=48000, pad_s=0.5)
    clip = prepare_recording(wav(speech), RATE)
    assert 0.95 < len(clip) / RATE < 1.1  # at the pack's rate, the half-seconds of silence cut (a margin kept)
    rate, stereo = decode_wav(wav(array("h", [v for s in speech for v in (s, s)]), channels=2))
    assert rate == 48000 and stereo == speech  # two equal channels mixed down
    refusals = [
        (b"OggS" + bytes(100), "không phải tệp WAV PCM"),
        (wav(speech, width=1), "cần mẫu 16 bit"),
        (wav(speech, rate=96000), "ngoài 8000–48000"),
        (wav(tone(440, 0.1, rate=48000)), "bản ghi dài 0,1 giây, cần 0,3–10"),
        (wav(tone(440, 11, rate=16000), rate=16000), "bản ghi dài 11 giây"),
        (wav(array("h", bytes(2 * 48000))), "không nghe thấy tiếng"),
        (wav(speech) + bytes(1 << 20), "quá lớn"),
    ]
    for data, why in refusals:
        with pytest.raises(ClipError, match=why):
            prepare_recording(data, RATE)


def test_join_keeps_short_parts_whole():
    out = join([_dc(1000, 0.001), _dc(2000, 0.001)], 441)  # 22 samples each: the fade shrinks to half of one
    assert len(out) == 22 + 22 - 11 and out[0] == 1000 and out[-1] == 2000
    assert math.isclose(sum(out) / len(out), 1500, rel_tol=0.1)


def test_build_pack_writes_a_manifest_it_can_read(tmp_path):
    manifest = build_pack(tmp_path / "p", say=Say())
    assert set(manifest.clips) == set(CLIPS) and manifest.rate == RATE
    again = parse_manifest((tmp_path / "p" / MANIFEST).read_bytes(), "m")
    assert again == manifest


def test_a_broken_recording_gives_way_to_the_pack_and_no_espeak_is_told_once(tmp_path, caplog):
    pack = write_pack(tmp_path / "pack", {k: tone(frequency_of(k)) for k in CLIPS if k not in ("digit.1", "digit.2")})
    center = write_pack(tmp_path / "center", {"digit.3": tone(700)})
    (center / "digit.3.wav").write_bytes(b"not a wav")

    def no_espeak(text: str) -> array:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")

    voice = Voice(pack, center, say=no_espeak)
    assert voice.source["digit.3"] == "pack"
    assert (
        f"bản ghi digit.3 không dùng được, dùng gói giọng (recording unusable): {center / 'digit.3.wav'}" in caplog.text
    )
    assert caplog.text.count("espeak-ng is not installed") == 1  # two words it cannot say, told once
    assert len(voice.clips["digit.1"]) == 0 and len(samples_of(voice.call_wav("A12", 3))[1]) > RATE  # the rest is said
    Voice(tmp_path / "nowhere", say=Say())
    assert f"(hangcho-gateway voice-pack {tmp_path / 'nowhere'})" in caplog.text

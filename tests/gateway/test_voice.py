"""Voice calls: the Vietnamese sentence, the WAV, and a queue that never cuts a call off."""

from __future__ import annotations

import io
import itertools
import struct
import threading
import time
import wave

import pytest

from gateway.voice import RATE, Announcer, call_text, call_wav, folder_sink, number_words


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "không"),
        (5, "năm"),
        (10, "mười"),
        (11, "mười một"),
        (15, "mười lăm"),
        (21, "hai mươi mốt"),
        (24, "hai mươi tư"),
        (25, "hai mươi lăm"),
        (40, "bốn mươi"),
        (100, "một trăm"),
        (105, "một trăm linh năm"),
        (315, "ba trăm mười lăm"),
    ],
)
def test_counter_numbers_in_vietnamese(n, words):
    assert number_words(n) == words


def test_the_sentence_spells_the_ticket_and_names_the_counter():
    assert call_text("A023", 5) == "Mời công dân số A không hai ba, đến quầy số năm"
    assert call_text("C105", 12) == "Mời công dân số Xê một không năm, đến quầy số mười hai"


def _pcm(wav: bytes) -> tuple[int, list[int]]:
    with wave.open(io.BytesIO(wav)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        frames = w.readframes(w.getnframes())
        return w.getframerate(), list(struct.unpack(f"<{len(frames) // 2}h", frames))


def test_a_call_is_a_chime_then_speech():
    rate, samples = _pcm(call_wav("A023", 5))
    assert rate == RATE
    seconds = len(samples) / rate
    assert 2.0 < seconds < 8.0
    chime_part = samples[: int(0.5 * rate)]
    speech_part = samples[int(1.3 * rate) :]
    assert max(abs(s) for s in chime_part) > 5000  # the chime is audible
    assert max(abs(s) for s in speech_part) > 2000  # so is the speech after it


def test_calls_queue_and_are_never_cut_off(tmp_path):
    played: list[tuple[str, float, float]] = []
    lock = threading.Lock()
    to_folder = folder_sink(tmp_path)

    def sink(name: str, wav: bytes) -> None:
        start = time.monotonic()
        to_folder(name, wav)  # takes as long as the sound lasts
        with lock:
            played.append((name, start, time.monotonic()))

    announcer = Announcer(sink)
    for ticket, counter in (("A001", 1), ("B002", 2), ("A003", 1)):
        announcer.announce(ticket, counter)
    announcer.drain(timeout=60)
    announcer.close()
    assert [name for name, _, _ in played] == ["A001-1", "B002-2", "A003-1"]
    for (_, _, end), (_, start, _) in itertools.pairwise(played):
        assert start >= end, "a call started before the previous one finished"
    assert sorted(p.name for p in tmp_path.glob("*.wav")) == ["0001-A001-1.wav", "0002-B002-2.wav", "0003-A003-1.wav"]


def test_a_failing_speaker_does_not_stop_the_queue(tmp_path):
    calls = []

    def flaky(name: str, wav: bytes) -> None:
        calls.append(name)
        if len(calls) == 1:
            raise OSError("no sound card")

    announcer = Announcer(flaky)
    announcer.announce("A001", 1)
    announcer.announce("A002", 1)
    announcer.drain()
    announcer.close()
    assert calls == ["A001-1", "A002-1"]


def _held_announcer(most: int = 3):
    """An announcer whose speaker is stuck on its first call until `release` is set."""
    release, started, played = threading.Event(), threading.Event(), []

    def sink(name: str, wav: bytes) -> None:
        started.set()
        assert release.wait(30)
        played.append(name)

    return Announcer(sink, most=most), release, started, played


def test_a_recall_replaces_the_same_tickets_waiting_call():
    announcer, release, started, played = _held_announcer()
    announcer.announce("A001", 1)
    assert started.wait(30)  # A001 is being spoken; what follows waits
    announcer.announce("A002", 2)
    announcer.announce("B003", 3)
    announcer.announce("A002", 4)  # a recall (to another counter) while A002 still waits
    assert announcer.waiting() == [("A002", 4), ("B003", 3)]
    release.set()
    announcer.drain(timeout=60)
    announcer.close()
    assert played == ["A001-1", "A002-4", "B003-3"]


def test_a_full_voice_queue_drops_the_call_that_waited_longest(caplog):
    announcer, release, started, played = _held_announcer(most=3)
    announcer.announce("A001", 1)
    assert started.wait(30)
    for n in range(2, 8):  # six calls behind the one being spoken: three fit
        announcer.announce(f"A00{n}", n)
    assert announcer.waiting() == [("A005", 5), ("A006", 6), ("A007", 7)]
    assert announcer.dropped == 3
    assert "A002 at counter 2 is not spoken" in caplog.text
    release.set()
    announcer.drain(timeout=60)
    announcer.close()
    assert played == ["A001-1", "A005-5", "A006-6", "A007-7"]

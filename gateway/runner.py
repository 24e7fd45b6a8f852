"""`hangcho-gateway run`: the service, its pages and its voice in one process, until a signal."""

from __future__ import annotations

import os
import secrets
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import click

from .config import CenterConfig
from .dispatcher import Dispatcher
from .service import GatewayService, MqttSettings
from .voice import Announcer, command_sink, folder_sink
from .voice_pack import DEFAULT_PACK, Voice
from .web import WebServer, create_app


def serve(
    config: CenterConfig,
    journal: Path,
    broker: str,
    password: str | None,
    http: str,
    audio: str,
    sync: tuple[str, str, float] | None = None,
    clock: Callable[[], float] | None = None,
    https_port: int = 443,
    ca: str | None = None,
    voice_pack: Path | None = None,
) -> None:
    host, _, port = broker.rpartition(":")
    dispatcher = Dispatcher.open(config, journal)
    recordings = Path(journal).resolve().parent / "voice"  # the center's own clips (the recording page, /voice)
    voice = Voice(voice_pack or DEFAULT_PACK, recordings)
    announcer = None
    if audio != "none":
        sink = _sink(audio)
        announcer = Announcer(sink, voice.call_wav)
    settings = MqttSettings(host=host or "127.0.0.1", port=int(port), password=password, ca=ca)
    service = GatewayService(config, dispatcher, settings, announcer=announcer, clock=clock or time.time)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    ota_dir = Path(journal).resolve().parent / "ota"  # app bundles for the boards (hangcho-tech update)
    ota_dir.mkdir(exist_ok=True)
    sessions = Path(journal).with_name(Path(journal).name + ".sessions")  # console sign-ins (gateway/sessions.py)
    app = create_app(service.hub, service.read, service.submit, config, web_secret(journal), service.devices_report,
                     ota_dir=ota_dir, sessions=sessions, https_port=https_port, clock=service.clock,
                     voice=voice)  # fmt: skip
    web_host, _, web_port = http.rpartition(":")
    web = WebServer(app, web_host or "0.0.0.0", int(web_port)).start()
    service.start()
    pusher = _start_sync(config, journal, service, sync, done, clock or time.time) if sync else None
    click.echo(f"hangcho-gateway: {config.id} running; pages on http://{web_host or '0.0.0.0'}:{web.port}", err=True)
    done.wait()
    if pusher is not None:  # a push in flight is not waited for long: unanswered, it is sent again next start
        pusher.join(timeout=3)
    service.stop()
    web.stop()
    if announcer is not None:
        announcer.close()
    dispatcher.close()


def _sink(audio: str):
    """`dir:PATH`: files, each taking as long as it sounds (as a speaker); `files:PATH`: at once (the demo)."""
    if audio.startswith("dir:"):
        return folder_sink(audio[4:])
    if audio.startswith("files:"):
        return folder_sink(audio[6:], realtime=False)
    return command_sink(audio)


def web_secret(journal: Path) -> bytes:
    """The console's session key, kept beside the journal so sign-ins survive a restart."""
    path = journal.with_name(journal.name + ".web-secret")
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
    return path.read_bytes()


def _start_sync(config: CenterConfig, journal: Path, service: GatewayService, sync, done: threading.Event,
                clock: Callable[[], float]):  # fmt: skip
    """The push to the central server on its own thread; sync.db sits beside the journal."""
    from .sync.sender import Sync

    url, token, interval = sync
    pusher = Sync(config, journal, Path(journal).with_name("sync.db"), url, token, service.devices_report, interval,
                  clock=clock)  # fmt: skip

    def run() -> None:
        pusher.run(done)
        pusher.close()

    thread = threading.Thread(target=run, name="hangcho-sync", daemon=True)
    thread.start()
    return thread

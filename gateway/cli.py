"""The gateway's command line: a thin shell over the library."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from contracts.validation import ConfigError

from .config import DEMO_CENTER, load_center


@click.group()
@click.version_option(package_name="hangcho")
def main() -> None:
    """Hàng Chờ gateway: the queue of one Public Administrative Service Center."""


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Center TOML file (default: the bundled demo center, 6 services, 8 counters).",
)
@click.option(
    "--citizens",
    default=300,
    show_default=True,
    type=click.IntRange(1, 20000),
    help="Citizens who come during the day.",
)
@click.option("--seed", default=1, show_default=True, help="Random seed: the same seed plays the same day.")
@click.option(
    "--day",
    "day_",
    default="2026-11-23",
    show_default=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help="The business day to simulate.",
)
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write every event to this SQLite journal, as the gateway does (slower: one fsync a command).",
)
def demo(config_path: Path | None, citizens: int, seed: int, day_, journal: Path | None) -> None:
    """Simulate one center's business day with the dispatch core and print per-service totals.

    \b
    Example:
      hangcho-gateway demo --citizens 300 --seed 7
    """
    from .dispatch import State, handle
    from .dispatcher import Dispatcher
    from .simulation import Profile, day_report, format_report, simulate_day

    try:
        config = load_center(config_path or DEMO_CENTER)
    except ConfigError as e:
        raise click.ClickException(str(e)) from e
    the_day: date = day_.date()
    if journal is not None:
        dispatcher = Dispatcher.open(config, journal)
        simulate_day(config, dispatcher.handle, the_day, Profile(citizens=citizens), seed)
        state = dispatcher.state
        dispatcher.close()
    else:
        state = State(config)
        simulate_day(config, lambda c, now: handle(state, c, now), the_day, Profile(citizens=citizens), seed)
    click.echo(format_report(config, the_day, day_report(state), day_report(state, by_priority=True)))


def _load(config_path: Path):
    try:
        return load_center(config_path)
    except ConfigError as e:
        raise click.ClickException(str(e)) from e


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The center's TOML file.",
)


web_host_option = click.option(
    "--web-host",
    "web_hosts",
    multiple=True,
    help="A name or address staff PCs, TVs and boards use for the gateway, for its web certificate (repeat it); "
    "this machine's name and addresses are always in.",
)
audio_option = click.option(
    "--audio",
    default="aplay -q",
    show_default=True,
    help="Where voice calls go: a command reading WAV on stdin, 'dir:PATH' for numbered WAV files paced as a "
    "speaker would play them, 'files:PATH' for the same written at once (the demo), or 'none'.",
)


@main.command()
@config_option
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The SQLite journal (created if missing).",
)
@click.option(
    "--broker",
    default="127.0.0.1:1883",
    show_default=True,
    help="Mosquitto's host:port: its plain listener on this machine, or its TLS listener on another.",
)
@click.option(
    "--secrets",
    "secrets_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="secrets.toml written by `broker-auth`: the gateway's MQTT password (and ca.crt beside it for TLS).",
)
@click.option(
    "--http",
    default="127.0.0.1:8081",
    show_default=True,
    help="host:port of the gateway's own web server (waitress). In a center 127.0.0.1, behind nginx, which "
    "serves the LAN with HTTPS (docs/gateway.md).",
)
@click.option(
    "--https-port",
    default=443,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="The port nginx serves HTTPS on: where a plain-HTTP request for the console is redirected.",
)
@audio_option
@click.option(
    "--voice-pack",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The voice pack calls are made of (a folder with manifest.json, from `voice-pack`); default: the built-in "
    "espeak-ng pack. The center's own recordings (/voice) are kept in voice/ beside the journal and go first.",
)
@click.option(
    "--sync-url",
    default=None,
    help="The central server's sync endpoint, e.g. https://hcc.example.gov.vn/api/v1/sync (default: no sync).",
)
@click.option(
    "--sync-token-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="File holding this gateway's token from `hangcho-server add-gateway`.",
)
@click.option(
    "--sync-interval", default=10.0, show_default=True, type=click.FloatRange(1, 3600), help="Seconds between pushes."
)
@click.option(
    "--log-level", default="INFO", show_default=True, type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"])
)
@click.option("--sim-start", type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z"]), default=None,
              help="Demos only: the simulated time at --sim-anchor, e.g. 2026-12-01T07:25:00+0700.")  # fmt: skip
@click.option("--sim-factor", type=click.FloatRange(min=1), default=1.0, show_default=True,
              help="Demos only: how many times faster than real time the simulated clock runs.")  # fmt: skip
@click.option("--sim-anchor", type=float, default=None, help="Demos only: the wall-clock epoch of --sim-start.")
def run(
    config_path: Path,
    journal: Path,
    broker: str,
    secrets_path: Path | None,
    http: str,
    https_port: int,
    audio: str,
    voice_pack: Path | None,
    sync_url: str | None,
    sync_token_file: Path | None,
    sync_interval: float,
    log_level: str,
    sim_start,
    sim_factor: float,
    sim_anchor: float | None,
) -> None:
    """Run the center's gateway: the queue over MQTT and its pages, until stopped (SIGTERM or Ctrl-C).

    \b
    Example:
      hangcho-gateway run --config /etc/hangcho/center.toml \\
        --journal /var/lib/hangcho/journal.db --secrets /etc/hangcho/broker/secrets.toml \\
        --sync-url https://hcc.example.gov.vn/api/v1/sync --sync-token-file /etc/hangcho/sync-token

    With --sync-url the gateway pushes its hourly totals and a live snapshot to the central
    server, keeping unsent batches in sync.db beside the journal while the server is away.
    The pages answer on --http; in a center that is 127.0.0.1:8081 and nginx serves them to the
    LAN (`install` sets it up): the hall page and ticket pages on plain HTTP, everything else on
    HTTPS with the center's CA. A client on this machine itself may use plain HTTP for all.
    The --sim-* options play a simulated day faster than real time (`make demo`).
    """
    import logging
    import tomllib

    from .runner import serve

    logging.basicConfig(level=log_level, format="%(levelname)s %(name)s: %(message)s")
    config = _load(config_path)
    from .broker_auth import GATEWAY_USER, on_this_machine

    password = tomllib.loads(secrets_path.read_text())["passwords"][GATEWAY_USER] if secrets_path else None
    ca = None
    if not on_this_machine(broker.rpartition(":")[0]):  # a password never crosses a network in cleartext
        if not secrets_path:
            raise click.UsageError("a broker on another machine is reached over TLS: give --secrets (ca.crt beside it)")
        ca = str(secrets_path.parent / "ca.crt")
    if sync_url and not sync_token_file:
        raise click.UsageError("--sync-url needs --sync-token-file")
    token = sync_token_file.read_text().strip() if sync_token_file else None
    clock = None
    if sim_start is not None:
        import time

        from .clock import ScaledClock

        clock = ScaledClock(sim_start.timestamp(), sim_factor, sim_anchor or time.time())
    sync = (sync_url, token, sync_interval) if sync_url else None
    serve(config, journal, broker, password, http, audio, sync, clock, https_port, ca, voice_pack)


@main.command("voice-pack")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--check", is_flag=True, help="Only read the pack and say which clips are missing or unreadable.")
def voice_pack_command(folder: Path, check: bool) -> None:
    """Build the built-in voice pack into FOLDER: every clip said by espeak-ng (docs/gateway.md, Voice calls).

    \b
    Example:
      hangcho-gateway voice-pack /var/lib/hangcho/voice-pack
      hangcho-gateway voice-pack --check /var/lib/hangcho/voice-pack
    """
    from .voice_pack import PackError, build_pack, pack_problems

    if not check:
        manifest = build_pack(folder)
        click.echo(f"voice-pack: {len(manifest.clips)} đoạn (clips), {manifest.rate} Hz → {folder}")
        return
    try:
        problems = pack_problems(folder)
    except PackError as e:
        raise click.ClickException(str(e)) from e
    for line in problems:
        click.echo(line)
    if problems:
        raise SystemExit(1)
    click.echo(f"voice-pack: {folder}: đủ mọi đoạn (every clip is there)")


@main.command()
@click.option("--url", default="http://127.0.0.1:8081", show_default=True, help="The running gateway's pages.")
def devices(url: str) -> None:
    """List the center's boards with their state and health, then the alerts.

    \b
    Example:
      hangcho-gateway devices --url http://127.0.0.1:8081
    """
    import json
    import urllib.request

    try:
        with urllib.request.urlopen(url.rstrip("/") + "/api/devices", timeout=5) as r:
            report = json.load(r)
    except OSError as e:
        raise click.ClickException(f"không kết nối được gateway {url} (cannot reach the gateway): {e}") from e
    columns = ("device", "role", "binding", "status", "app", "last_seen_s", "rssi", "paper", "outbox")
    rows = [[("" if row.get(c) is None else str(row.get(c))) for c in columns] for row in report["devices"]]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    for line in (list(columns), *rows):
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
    for alert in report["alerts"]:
        click.echo(f"CẢNH BÁO: {alert['message']}")
    if not report["alerts"]:
        click.echo("Không có cảnh báo (no alerts).")


@main.command("install")
@config_option
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/"),
    show_default=True,
    help="Install under this folder instead of / (for a disk image, or to look first).",
)
@click.option("--http", default="0.0.0.0:80", show_default=True,
              help="Where nginx serves plain HTTP: the hall (/hall), ticket pages; the rest redirects.")  # fmt: skip
@click.option("--https", default="0.0.0.0:443", show_default=True,
              help="Where nginx serves HTTPS (the center's CA): the console, fleet page, OTA bundles.")  # fmt: skip
@web_host_option
@audio_option
@click.option("--no-systemctl", is_flag=True, help="Write the units but do not enable or start them.")
@click.option("--sync-url", default=None, help="The central server's sync endpoint (default: no sync).")
@click.option(
    "--sync-token-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="File holding the gateway's token from `hangcho-server add-gateway`; copied to /etc/hangcho/sync-token.",
)
@click.option("--host", "hosts", multiple=True,
              help="An address the boards use for this machine (the broker's TLS certificate); repeatable "
                   "(default: every address of this machine).")  # fmt: skip
def install_cmd(
    config_path: Path,
    root: Path,
    http: str,
    https: str,
    web_hosts: tuple[str, ...],
    audio: str,
    no_systemctl: bool,
    sync_url: str | None,
    sync_token_file: Path | None,
    hosts: tuple[str, ...],
) -> None:
    """Install the gateway as systemd services on Raspberry Pi OS: files, accounts, units.

    \b
    Example:
      sudo .venv/bin/hangcho-gateway install --config center.toml
    """
    import os

    from .install import install

    _load(config_path)  # a clear error before anything is written
    if root == Path("/") and os.geteuid() != 0:
        raise click.ClickException("cần quyền root (needs root): sudo hangcho-gateway install ...")
    if bool(sync_url) != bool(sync_token_file):
        raise click.UsageError("--sync-url and --sync-token-file go together")
    sync = (sync_url, sync_token_file) if sync_url and sync_token_file else None
    systemctl = not no_systemctl and root == Path("/")
    for line in install(config_path, root, http, https, audio, systemctl, sync=sync, web_hosts=web_hosts,
                        hosts=list(hosts) or None):  # fmt: skip
        click.echo(f"OK: {line}")


@main.command("broker-auth")
@config_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for mosquitto.conf, passwd, acl, secrets.toml and the TLS files (ca.crt, broker.crt and keys).",
)
@click.option("--port", default=8883, show_default=True, help="The boards' TLS listener's port.")
@click.option("--bind", default="", help="The TLS listener's address (default: every address of this machine).")
@click.option("--local-port", default=1883, show_default=True,
              help="The plain listener's port, on 127.0.0.1 only: the gateway and the technician's tools.")  # fmt: skip
@click.option("--host", "hosts", multiple=True,
              help="An address the boards use for this machine, in the broker's certificate; repeatable "
                   "(default: every address of this machine, its name and name.local).")  # fmt: skip
@click.option("--user", default="mosquitto", show_default=True, help="The user Mosquitto runs as ('' to leave unset).")
@web_host_option
def broker_auth(config_path: Path, out: Path, port: int, bind: str, local_port: int, hosts: tuple[str, ...],
                user: str, web_hosts: tuple[str, ...]) -> None:  # fmt: skip
    """Write Mosquitto's accounts, ACL, TLS certificate and configuration for the center, and the
    gateway's web certificate (OUT/web.crt, made anew).

    One account per board, the gateway's and one per technician's tool; passwords already in
    OUT/secrets.toml are kept, new boards get new ones. The center's CA (OUT/ca.crt, made once
    and kept) signs the broker's certificate for the addresses the boards use: run the command
    again after the gateway's address changes. See docs/protocol.md (Security).

    \b
    Example:
      hangcho-gateway broker-auth --config /etc/hangcho/center.toml --out /etc/hangcho/broker \\
        --host 192.168.1.2
    """
    from .broker_auth import write_broker_files
    from .proxy import gateway_addresses, web_certificate

    config = _load(config_path)
    files = write_broker_files(config, out, port=port, local_port=local_port, bind=bind,
                               hosts=list(hosts) or None, user=user or None)  # fmt: skip
    click.echo(f"OK: {len(files.passwords)} tài khoản (accounts) → {files.conf}")
    click.echo(f"OK: TLS :{files.tls_port} cho (for) {', '.join(files.hosts)}; CA → {files.ca}")
    web_hosts_all = list(dict.fromkeys([*web_hosts, *hosts, *gateway_addresses()]))
    tls = web_certificate(out, config.id, web_hosts_all)
    click.echo(f"OK: chứng chỉ web (web certificate) cho {', '.join(web_hosts_all)} → {tls.cert}")


@main.command()
@click.argument("config_path", type=click.Path(dir_okay=False, path_type=Path))
def check(config_path: Path) -> None:
    """Validate a center's TOML file; the error names the key and the reason.

    \b
    Example:
      hangcho-gateway check /etc/hangcho/center.toml
    """
    config = _load(config_path)
    click.echo(
        f"OK: {config.name} — {len(config.services)} dịch vụ, {len(config.counters)} quầy, "
        f"{len(config.priority_classes)} diện ưu tiên"
    )

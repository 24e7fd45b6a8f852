"""The gateway's command line: a thin shell over the library."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from .config import DEMO_CENTER, ConfigError, load_center


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


@main.command()
@click.argument("config_path", type=click.Path(dir_okay=False, path_type=Path))
def check(config_path: Path) -> None:
    """Validate a center's TOML file; the error names the key and the reason.

    \b
    Example:
      hangcho-gateway check /etc/hangcho/center.toml
    """
    try:
        config = load_center(config_path)
    except ConfigError as e:
        raise click.ClickException(str(e)) from e
    click.echo(
        f"OK: {config.name} — {len(config.services)} dịch vụ, {len(config.counters)} quầy, "
        f"{len(config.priority_classes)} diện ưu tiên"
    )

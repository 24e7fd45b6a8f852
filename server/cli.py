"""The server's command line: set up the database, centers, gateway tokens and users; run."""

from __future__ import annotations

from pathlib import Path

import click

from contracts.validation import ConfigError

from . import accounts, audit, migrations, scopes
from .db import DatabaseTrouble, engine_for, explain
from .partitions import KEEP_MONTHS, MIN_KEEP_MONTHS
from .settings import load


class Trouble(click.ClickException):
    """Set-up trouble (the configuration, the database): one line, exit status 2."""

    exit_code = 2


class Commands(click.Group):
    """Every command's database errors as one line naming the database and what to do, not a
    traceback (docs/server.md, Setting up)."""

    def invoke(self, ctx: click.Context):
        from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

        try:
            return super().invoke(ctx)
        except (DBAPIError, ArgumentError, NoSuchModuleError) as e:
            raise Trouble(str(explain(e, ctx.meta.get("hangcho.database_url", "?")))) from e
        except DatabaseTrouble as e:
            raise Trouble(str(e)) from e


CONFIG = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Server TOML file (default: $HANGCHO_SERVER_CONFIG, else built-in defaults with SQLite in ./var).",
)


def _engine(config_path: Path | None):
    try:
        url = load(config_path).database_url
    except ConfigError as e:
        raise Trouble(str(e)) from e
    click.get_current_context().meta["hangcho.database_url"] = url
    try:
        return engine_for(url)
    except Exception as e:  # a URL SQLAlchemy cannot read, or a driver it does not have
        raise explain(e, url) from e


def _account(config_path: Path | None, action, log: tuple[str, str] | None = None, detail=lambda result: ""):
    """Run `action` in one transaction; `log` = (audit action, target) is written in the same one."""
    engine = _engine(config_path)
    migrations.upgrade(engine)
    try:
        with engine.begin() as conn:
            result = action(conn)
            if log:
                audit.record(conn, log[0], *audit.command_line(), target=log[1], detail=detail(result))
            return result
    except accounts.AccountError as e:
        raise click.ClickException(str(e)) from e


@click.group(cls=Commands)
@click.version_option(package_name="hangcho")
def main() -> None:
    """Hàng Chờ central server: the province watches every center."""


@main.command("migrate")
@CONFIG
def migrate_cmd(config_path: Path | None) -> None:
    """Create or upgrade the database's tables (the server also does this when it starts).

    \b
    Example:
      hangcho-server migrate --config /etc/hangcho/server.toml
    """
    applied = migrations.upgrade(_engine(config_path))
    click.echo("\n".join(f"applied {name}" for name in applied) or "the database is up to date")


@main.command("add-center")
@CONFIG
@click.argument("center_id")
@click.option("--name", required=True, help="The center's name as people read it.")
@click.option("--commune", help="Its commune or ward: official code (27427) or name ('Phú Định', 'Tân Phú, Đồng Nai').")
@click.option("--ward", help="Without --commune: a ward's name, free text (it then rolls up to no province).")
@click.option("--site", default="main", show_default=True, help="'main', or the name of a satellite site.")
def add_center_cmd(config_path: Path | None, center_id: str, name: str, commune: str | None, ward: str | None,
                   site: str) -> None:  # fmt: skip
    """Register a center (one gateway's site) in its commune, from the official list of the 34
    provinces and 3,321 communes (July 2025). A name several provinces have, or one that is not
    there, is refused with the candidates or the closest names.

    \b
    Example:
      hangcho-server add-center phu-dinh --name "Trung tâm PVHCC phường Phú Định" --commune 27427
      hangcho-server add-center xa-tan-phu --name "Trung tâm PVHCC xã Tân Phú" --commune "Tân Phú, Đồng Nai"
    """
    _account(config_path, lambda conn: accounts.add_center(conn, center_id, name, ward, site, commune),
             ("center_added", center_id))  # fmt: skip
    click.echo(f"center {center_id} added")


@main.command("add-gateway")
@CONFIG
@click.argument("center_id")
def add_gateway_cmd(config_path: Path | None, center_id: str) -> None:
    """Make a credential for a center's gateway and print its token (shown once, stored hashed).

    \b
    Example:
      hangcho-server add-gateway xa-tan-phu
    """
    token = _account(config_path, lambda conn: accounts.add_gateway(conn, center_id), ("gateway_added", center_id),
                     lambda token: f"gateway {token.partition('.')[0]}")  # fmt: skip
    click.echo(token)


def _moment(text: str) -> float:
    """An ISO 8601 date or time; one without a zone is Vietnam's (UTC+7)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    try:
        moment = datetime.fromisoformat(text)
    except ValueError as e:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time, e.g. 2026-12-01T08:00 or 2026-12-01") from e
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    return moment.timestamp()


@main.command("revoke-gateway")
@CONFIG
@click.argument("gateway_id")
@click.option("--purge-since", "purge_since", default=None, metavar="TIME",
              help="Also remove what this credential wrote since TIME (ISO 8601; without a zone, Vietnam's "
                   "time); the center's gateway then resends its whole journal at its next sync.")  # fmt: skip
def revoke_gateway_cmd(config_path: Path | None, gateway_id: str, purge_since: str | None) -> None:
    """Revoke a gateway's token (the part before the dot); its syncs get 401 within 30 seconds.

    With --purge-since, the batches, buckets and snapshot that the credential wrote since TIME
    are removed as well, and the center's gateway is asked to resend (docs/server.md, A stolen
    token).

    \b
    Example:
      hangcho-server revoke-gateway 3f9c0a1b2d4e5f60
      hangcho-server revoke-gateway 3f9c0a1b2d4e5f60 --purge-since 2026-12-01T08:00
    """
    from .purge import purge

    since = None if purge_since is None else _moment(purge_since)

    def act(conn):
        if not accounts.revoke_gateway(conn, gateway_id):
            raise accounts.AccountError(f"no gateway {gateway_id!r}")
        audit.record(conn, "gateway_revoked", *audit.command_line(), target=gateway_id)
        if since is None:
            return None
        purged = purge(conn, gateway_id, since)
        counts = (f"{purged.batches} batches, {purged.buckets} buckets, {purged.counter_days} counter-days, "
                  f"{purged.snapshots} snapshots")  # fmt: skip
        audit.record(conn, "purged", *audit.command_line(), target=gateway_id,
                     detail=f"center {purged.center_id} since {purge_since}: {counts}")  # fmt: skip
        return purged

    purged = _account(config_path, act)
    click.echo(f"gateway {gateway_id} revoked")
    if purged:
        click.echo(f"removed {purged.batches} batches, {purged.buckets} hourly buckets, {purged.counter_days} "
                   f"counter-days and {purged.snapshots} snapshots written since {purge_since}; center "
                   f"{purged.center_id} will resend its journal from seq {purged.resend_from} "
                   "at its next sync")  # fmt: skip


@main.command("add-user")
@CONFIG
@click.argument("username")
@click.option("--role", type=click.Choice([*accounts.ROLES, "admin"]), required=True,
              help="national: every province; province: the one --province names; commune: the one --commune "
                   "names (its main center and satellites); staff: the center --center names. admin: the old "
                   "name of national.")  # fmt: skip
@click.option("--province", default=None, metavar="CODE|NAME",
              help="The province user's province: 79 or 'Hồ Chí Minh'.")  # fmt: skip
@click.option("--commune", default=None, metavar="CODE|NAME",
              help="The commune user's commune or ward: 27427, 'Phú Định' or 'Tân Phú, Đồng Nai'.")  # fmt: skip
@click.option("--center", "center_id", default=None, metavar="ID", help="The staff user's center.")
@click.password_option(help="At least 10 characters (asked for when not given).")
def add_user_cmd(config_path: Path | None, username: str, role: str, province: str | None, commune: str | None,
                 center_id: str | None, password: str) -> None:  # fmt: skip
    """Create a dashboard user with a role and its scope; the password is stored hashed (scrypt).
    Each role takes exactly its own option; any other, or a province or commune that is not in
    the official list (with the closest names), is refused with one line.

    \b
    Example:
      hangcho-server add-user bo-noi-vu --role national
      hangcho-server add-user so-hcm --role province --province 79
      hangcho-server add-user phu-dinh --role commune --commune 27427
      hangcho-server add-user lan --role staff --center xa-tan-phu
    """

    def detail(place: dict) -> str:
        return ", ".join([f"role {scopes.role_of(role)}", *(f"{k} {v}" for k, v in place.items())])

    _account(config_path, lambda conn: accounts.add_user(conn, username, password, role, center_id, province, commune),
             ("user_added", username), detail)  # fmt: skip
    click.echo(f"user {username} added")


def _ending_sessions(config_path: Path | None, change, action: str, username: str) -> int:
    """Apply a change to a user and end every session of theirs, in one transaction."""
    from .web_sessions import end_all

    return _account(config_path, lambda conn: end_all(conn, change(conn)), (action, username),
                    lambda ended: f"{ended} sessions ended")  # fmt: skip


@main.command("disable-user")
@CONFIG
@click.argument("username")
def disable_user_cmd(config_path: Path | None, username: str) -> None:
    """Stop a user logging in and end their sessions at once, on every server (enable-user undoes it).

    \b
    Example:
      hangcho-server disable-user lan
    """
    ended = _ending_sessions(config_path, lambda conn: accounts.set_disabled(conn, username, True), "user_disabled",
                             username)  # fmt: skip
    click.echo(f"user {username} disabled; {ended} sessions ended")


@main.command("enable-user")
@CONFIG
@click.argument("username")
def enable_user_cmd(config_path: Path | None, username: str) -> None:
    """Let a disabled user log in again (with the password they had).

    \b
    Example:
      hangcho-server enable-user lan
    """
    _account(config_path, lambda conn: accounts.set_disabled(conn, username, False), ("user_enabled", username))
    click.echo(f"user {username} enabled")


@main.command("remove-user")
@CONFIG
@click.argument("username")
def remove_user_cmd(config_path: Path | None, username: str) -> None:
    """Remove a user for good and end their sessions.

    \b
    Example:
      hangcho-server remove-user lan
    """
    ended = _ending_sessions(config_path, lambda conn: accounts.remove_user(conn, username), "user_removed", username)
    click.echo(f"user {username} removed; {ended} sessions ended")


@main.command("set-password")
@CONFIG
@click.argument("username")
@click.password_option(help="At least 10 characters (asked for when not given).")
def set_password_cmd(config_path: Path | None, username: str, password: str) -> None:
    """Give a user a new password; every session of theirs ends (they log in again with it).

    \b
    Example:
      hangcho-server set-password lan
    """
    ended = _ending_sessions(config_path, lambda conn: accounts.set_password(conn, username, password),
                             "password_set", username)  # fmt: skip
    click.echo(f"user {username} has a new password; {ended} sessions ended")


@main.command("audit")
@CONFIG
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000), help="How many lines.")
@click.option("--since", "since", default=None, metavar="TIME", help="Only from TIME (ISO 8601; no zone: Vietnam's).")
def audit_cmd(config_path: Path | None, limit: int, since: str | None) -> None:
    """Print the audit log, newest first: time (Vietnam), who, from where, what, on what, detail.

    \b
    Example:
      hangcho-server audit --since 2026-12-01 --limit 200
    """
    from datetime import datetime
    from zoneinfo import ZoneInfo

    start = None if since is None else _moment(since)
    engine = _engine(config_path)
    migrations.upgrade(engine)
    with engine.connect() as conn:
        rows = audit.latest(conn, limit, start)
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    for r in rows:
        when = datetime.fromtimestamp(r["at"], zone).isoformat(timespec="seconds")
        click.echo("\t".join([when, r["actor"], r["address"], r["action"], r["target"], r["detail"]]))


@main.command("prune")
@CONFIG
@click.option("--days", default=7, show_default=True, type=click.IntRange(1), help="Keep batch numbers this long.")
@click.option("--hourly-months", default=KEEP_MONTHS, show_default=True, type=click.IntRange(MIN_KEEP_MONTHS),
              help="Keep hourly rows this many months, this one included (the day rows stay for ever).")  # fmt: skip
def prune_cmd(config_path: Path | None, days: int, hourly_months: int) -> None:
    """Forget old batch numbers (one row per gateway batch), expired sessions and hourly rows past
    retention; on PostgreSQL make the coming months' hourly partitions and drop the old ones (a
    month's table at a time). Run it daily. Each center's highest batch is kept: its high-water
    mark (docs/sync.md). Day rows are never pruned: the pages read them (docs/server.md).

    \b
    Example:
      hangcho-server prune --days 7 --hourly-months 25
    """
    import time
    from datetime import UTC, datetime

    from .ingest import prune
    from .partitions import prune_hourly
    from .web_sessions import forget_expired

    engine = _engine(config_path)
    migrations.upgrade(engine)
    with engine.begin() as conn:
        removed = prune(conn, time.time() - days * 86400)
        expired = forget_expired(conn, time.time())
        hourly = prune_hourly(conn, datetime.now(UTC).date(), hourly_months)
    click.echo(f"forgot {removed} batch numbers older than {days} days (each center's highest kept) "
               f"and {expired} expired sessions")  # fmt: skip
    click.echo(f"hourly rows kept {hourly_months} months: made partitions {', '.join(hourly.made) or 'none'}; "
               f"dropped {', '.join(hourly.dropped) or 'none'}; deleted {hourly.deleted} older rows")  # fmt: skip


@main.command("run")
@CONFIG
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def run_cmd(config_path: Path | None, host: str, port: int) -> None:
    """Serve with Flask's own server (for trying it out; production runs gunicorn, see README).

    \b
    Example:
      hangcho-server run --port 8000
    """
    from .app import create_app

    try:
        settings = load(config_path)
    except ConfigError as e:
        raise Trouble(str(e)) from e
    click.get_current_context().meta["hangcho.database_url"] = settings.database_url
    create_app(settings).run(host=host, port=port, threaded=True)


@main.command("proxy-conf")
@click.option("--node", "nodes", multiple=True, required=True, metavar="HOST:PORT",
              help="A server node's gunicorn; give it once per node.")  # fmt: skip
@click.option("--listen", default="443", show_default=True, metavar="[HOST:]PORT", help="nginx's HTTPS address.")
@click.option("--http", "http", default="80", show_default=True, metavar="[HOST:]PORT",
              help="Plain HTTP, redirected to HTTPS ('' for none).")  # fmt: skip
@click.option("--cert", required=True, type=click.Path(dir_okay=False), help="The TLS certificate (chain) file.")
@click.option("--key", required=True, type=click.Path(dir_okay=False), help="Its private key file.")
def proxy_conf_cmd(nodes: tuple[str, ...], listen: str, http: str, cert: str, key: str) -> None:
    """Print the nginx.conf that puts the server nodes behind one HTTPS address (docs/server.md,
    Deployment). Run the nodes with `proxy_hops = 1`.

    \b
    Example:
      hangcho-server proxy-conf --node 10.0.0.11:8000 --node 10.0.0.12:8000 \\
        --cert /etc/ssl/tinh.crt --key /etc/ssl/private/tinh.key > /etc/nginx/nginx.conf
    """
    import re

    from .proxy import nginx_conf

    for node in nodes:
        if not re.fullmatch(r"[\w.\-\[\]:]+:\d{1,5}", node):
            raise click.BadParameter(f"{node!r} is not HOST:PORT", param_hint="--node")
    if not listen.rpartition(":")[2].isdigit():
        raise click.BadParameter(f"{listen!r} is not [HOST:]PORT", param_hint="--listen")
    click.echo(nginx_conf(list(nodes), listen, Path(cert), key, http or None), nl=False)

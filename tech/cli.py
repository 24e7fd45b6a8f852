"""`hangcho-tech`: what a technician runs on the center's Raspberry Pi (or a laptop) with a
board on USB."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import click

from contracts.validation import ConfigError

CENTER_OPTION = click.option(
    "--config",
    "center_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=Path("/etc/hangcho/center.toml"),
    show_default=True,
    help="The center's configuration.",
)


@click.group()
@click.version_option(package_name="hangcho")
def main() -> None:
    """Hàng Chờ technician tools: find, flash and provision a center's boards."""


@main.command()
def ports() -> None:
    """List the boards on USB (ESP32 DevKit bridges and the ESP32-S3's native USB).

    \b
    Example:
      hangcho-tech ports
    """
    from .ports import boards

    found = boards()
    for f in found:
        click.echo(f"{f.device}  {f.kind}  {f.serial_number or ''}".rstrip())
    if not found:
        click.echo("Không thấy bo mạch nào (no board on USB).")


@main.command()
@click.option("--port", default=None, help="The board's serial port (default: the only board on USB).")
@click.option("--board", "board_id", required=True, help="Its profile in boards/profiles, e.g. esp32-devkitc.")
@click.option("--image", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The MicroPython .bin for this board, from micropython.org.")  # fmt: skip
def flash(port: str | None, board_id: str, image: Path) -> None:
    """Erase the board and write MicroPython to it with esptool, then verify.

    \b
    Example:
      hangcho-tech flash --board esp32-devkitc --image ESP32_GENERIC-20241129-v1.24.1.bin
    """
    import boards

    from .flash import FlashError
    from .flash import flash as do_flash
    from .ports import PortError, choose
    from .ports import boards as found_boards

    try:
        chosen = choose(port, found_boards())
        chip = do_flash(chosen, boards.load(board_id).chip, image, step=lambda s: click.echo(f"… {s}"))
    except (PortError, FlashError, ConfigError) as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"OK: MicroPython written to the {chip} on {chosen}")


@main.command()
@click.option("--port", default=None, help="The board's serial port, or socket://HOST:PORT for a virtual board.")
@CENTER_OPTION
@click.option("--device", required=True, help="The device's id in the center's configuration, e.g. kiosk-1.")
@click.option("--board", "board_id", required=True, help="Its profile in boards/profiles, e.g. esp32-devkitc.")
@click.option("--wifi", "wifi_ssid", required=True, help="The Wi-Fi the board joins.")
@click.option("--wifi-password", prompt=True, hide_input=True, help="Asked for when not given.")
@click.option("--broker", default="192.168.1.2:8883", show_default=True,
              help="host:port of the gateway's Mosquitto as the boards reach it: its TLS listener.")  # fmt: skip
@click.option(
    "--local-broker",
    default="127.0.0.1:1883",
    show_default=True,
    help="host:port where this tool reaches the same broker (its plain listener on this machine, or TLS elsewhere).",
)
@click.option("--broker-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("/etc/hangcho/broker"), show_default=True, help="The gateway's broker files.")  # fmt: skip
@click.option("--reload", "reload_command", default="systemctl reload mosquitto", show_default=True,
              help="How to make Mosquitto read a new account.")  # fmt: skip
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for the board to come online.")
def provision(port, center_file, device, board_id, wifi_ssid, wifi_password, broker, local_broker, broker_dir,
              reload_command, timeout) -> None:  # fmt: skip
    """Install the app, the device's config and the center's CA (ca.crt) on a board, give it its
    MQTT account, reset it and wait until it is online; print a pass / fail summary.

    \b
    Example:
      hangcho-tech provision --device kiosk-1 --board esp32-devkitc --wifi TTPVHCC --broker 192.168.1.2:8883
    """
    from .bundle import BundleError
    from .device import DeviceError
    from .ports import PortError, boards, choose
    from .provision import ProvisionError, Target
    from .provision import provision as run

    host, _, broker_port = broker.rpartition(":")
    local_host, _, local_port = local_broker.rpartition(":")
    target = Target(center_file, device, board_id, wifi_ssid, wifi_password, host, int(broker_port), broker_dir,
                    (local_host, int(local_port)))  # fmt: skip
    try:
        chosen = choose(port, boards())
        with (
            tempfile.TemporaryDirectory(prefix="hangcho-app-") as work,
            click.progressbar(length=1, label="chép ứng dụng (copying the app)") as bar,
        ):

            def progress(files):
                bar.length = len(files)
                for name in files:
                    yield name
                    bar.update(1)

            report = run(chosen, target, Path(work), lambda: subprocess.run(reload_command, shell=True, check=True),
                         timeout, progress)  # fmt: skip
    except (PortError, ProvisionError, DeviceError, BundleError, ConfigError, subprocess.CalledProcessError) as e:
        raise click.ClickException(str(e)) from e
    for name, ok, detail in report.steps:
        click.echo(f"{'ĐẠT' if ok else 'LỖI'} ({'pass' if ok else 'FAIL'})  {name}: {detail}")
    if not report.passed:
        click.echo("--- the board's console ---")
        click.echo("\n".join(report.console[-30:]) or "(nothing)")
        raise SystemExit(1)


def _identify_options(f):
    for option in reversed([
        click.option("--device", required=True, help="The device's id, e.g. counter-3."),
        CENTER_OPTION,
        click.option("--broker", default="127.0.0.1:1883", show_default=True,
                     help="host:port of the broker (plain on this machine, TLS elsewhere)."),
        click.option("--broker-dir", type=click.Path(file_okay=False, path_type=Path),
                     default=Path("/etc/hangcho/broker"), show_default=True, help="The gateway's broker files."),
        click.option("--seconds", default=10, show_default=True, type=click.IntRange(1, 600), help="How long."),
    ]):  # fmt: skip
        f = option(f)
    return f


def _identify(center_file: Path, device: str, broker: str, broker_dir: Path, seconds: int, keypad_test: bool) -> int:
    from gateway.config import load_center

    from .identify import IdentifyError, send

    host, _, port = broker.rpartition(":")
    try:
        return send(load_center(center_file), device, (host, int(port)), broker_dir, seconds, keypad_test)
    except (IdentifyError, ConfigError, OSError, KeyError) as e:
        raise click.ClickException(str(e)) from e


@main.command()
@_identify_options
def identify(device: str, center_file: Path, broker: str, broker_dir: Path, seconds: int) -> None:
    """Make a board show itself: a kiosk blinks and prints the test ticket (every Vietnamese
    glyph), a counter shows 8888, a hall board lights every LED.

    \b
    Example:
      hangcho-tech identify --device kiosk-1
    """
    sent = _identify(center_file, device, broker, broker_dir, seconds, keypad_test=False)
    click.echo(f"OK: {sent} commands sent to {device}; look at it now")


@main.command("keypad-test")
@_identify_options
def keypad_test(device: str, center_file: Path, broker: str, broker_dir: Path, seconds: int) -> None:
    """Put a counter's keypad in test mode: each key shows on its display instead of acting.

    \b
    Example:
      hangcho-tech keypad-test --device counter-1 --seconds 60
    """
    _identify(center_file, device, broker, broker_dir, seconds, keypad_test=True)
    click.echo(f"OK: press every key of {device}; its display shows each one for {seconds} s")


@main.command()
@_identify_options
@click.option("--force", is_flag=True, help="Restart a counter even while it serves someone.")
def reboot(device: str, center_file: Path, broker: str, broker_dir: Path, seconds: int, force: bool) -> None:
    """Restart a board and wait until it is online again (up to --seconds). Nothing is lost: a
    board keeps its unacknowledged presses on flash. A serving counter is left alone.

    \b
    Example:
      hangcho-tech reboot --device kiosk-1 --seconds 60
    """
    from gateway.config import load_center

    from .reboot import RebootError
    from .reboot import reboot as restart

    host, _, port = broker.rpartition(":")
    try:
        took = restart(load_center(center_file), device, (host, int(port)), broker_dir, force, seconds)
    except (RebootError, ConfigError, OSError) as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"OK: {device} restarted and online again after {took:.1f} s")


@main.command()
@click.option("--device", "devices", multiple=True, help="A device to update (repeat it); default: every board.")
@CENTER_OPTION
@click.option("--gateway", default="192.168.1.2:443", show_default=True,
              help="host:port of the gateway's HTTPS (nginx) as the boards reach it.")  # fmt: skip
@click.option("--ota-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("/var/lib/hangcho/ota"),
              show_default=True, help="The folder the gateway serves bundles from.")  # fmt: skip
@click.option(
    "--broker",
    default="127.0.0.1:1883",
    show_default=True,
    help="host:port of the broker (plain on this machine, TLS elsewhere).",
)
@click.option("--broker-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("/etc/hangcho/broker"),
              show_default=True, help="The gateway's broker files.")  # fmt: skip
@click.option("--app", "app_dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="The app's sources (default: this checkout's firmware/app).")  # fmt: skip
@click.option("--wave", default=2, show_default=True, type=click.IntRange(1), help="Boards per wave after the first.")
@click.option("--healthy-s", default=30, show_default=True, type=click.IntRange(1),
              help="Seconds a board must stay online on the new bundle before it keeps it.")  # fmt: skip
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait for each board.")
def update(devices, center_file, gateway, ota_dir, broker, broker_dir, app_dir, wave, healthy_s, timeout) -> None:
    """Update the boards' app over the air, in waves, never while someone is being served; a
    board whose new bundle does not come online healthy goes back to the old one by itself.

    \b
    Example:
      hangcho-tech update --gateway 192.168.1.2:443 --wave 3
    """
    from gateway.config import load_center

    from .bundle import APP, BundleError
    from .update import Plan, UpdateError, run

    try:
        center = load_center(center_file)
        gw_host, _, gw_port = gateway.rpartition(":")
        b_host, _, b_port = broker.rpartition(":")
        ota_dir.mkdir(parents=True, exist_ok=True)
        plan = Plan(center, list(devices) or [d.id for d in center.devices], gw_host, int(gw_port), ota_dir,
                    (b_host, int(b_port)), broker_dir, app_dir or APP, wave, healthy_s, timeout)  # fmt: skip
        outcomes = run(plan, say=click.echo)
    except (UpdateError, BundleError, ConfigError, OSError) as e:
        raise click.ClickException(str(e)) from e
    failed = [d for d, o in outcomes.items() if not o.startswith(("updated", "already"))]
    for device in plan.devices:
        outcome = outcomes.get(device, "not reached (an earlier wave failed)")
        ok = outcome.startswith(("updated", "already"))
        click.echo(f"{'ĐẠT' if ok else 'LỖI'} ({'pass' if ok else 'FAIL'})  {device}: {outcome}")
    if failed or len(outcomes) < len(plan.devices):
        raise SystemExit(1)


@main.command("virtual-board")
@click.option("--flash", "flash_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="The folder that plays the board's flash.")  # fmt: skip
@click.option("--port", default=7788, show_default=True, help="TCP port of its serial console.")
def virtual_board(flash_dir: Path, port: int) -> None:
    """Run a virtual board (MicroPython's unix port, simulated pins) to rehearse on.

    \b
    Example:
      hangcho-tech virtual-board --flash /tmp/board --port 7788
    """
    import threading

    from .vboard import VirtualBoard

    board = VirtualBoard(flash_dir, port).start()
    click.echo(f"virtual board: --port {board.url} (flash {flash_dir}); Ctrl-C stops it")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        board.stop()

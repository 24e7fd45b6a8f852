"""`hangcho-gateway install` into a folder: the files and units a Raspberry Pi needs."""

from __future__ import annotations

import tomllib
from pathlib import Path

from click.testing import CliRunner

from gateway.broker_auth import MOSQUITTO_NOFILE, TECH_ACCOUNTS
from gateway.cli import main
from gateway.config import load_center

CONFIG = Path(__file__).resolve().parents[1] / "data" / "small_center.toml"


def test_install_lays_out_config_broker_files_and_units(tmp_path):
    result = CliRunner().invoke(main, ["install", "--config", str(CONFIG), "--root", str(tmp_path), "--no-systemctl"])
    assert result.exit_code == 0, result.output
    assert load_center(tmp_path / "etc/hangcho/center.toml").id == "test"
    secrets = tomllib.loads((tmp_path / "etc/hangcho/broker/secrets.toml").read_text())["passwords"]
    assert set(secrets) == {"gateway", "kiosk-1", "kiosk-2", "counter-1", "counter-2", "hall-1", *TECH_ACCOUNTS}
    assert (tmp_path / "var/lib/hangcho").is_dir()
    unit = (tmp_path / "etc/systemd/system/hangcho-gateway.service").read_text()
    assert "User=hangcho" in unit and "Restart=always" in unit and "StandardOutput=journal" in unit
    assert "LimitNOFILE=8192" in unit
    assert "run --config /etc/hangcho/center.toml --journal /var/lib/hangcho/journal.db" in unit
    assert "--voice-pack /var/lib/hangcho/voice-pack" in unit  # built here, by espeak-ng
    assert (
        CliRunner().invoke(main, ["voice-pack", "--check", str(tmp_path / "var/lib/hangcho/voice-pack")]).exit_code == 0
    )
    exec_line = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert Path(exec_line.split("=", 1)[1].split()[0]).name == "hangcho-gateway"
    drop_in = (tmp_path / "etc/systemd/system/mosquitto.service.d/hangcho.conf").read_text()
    assert "ExecStart=/usr/sbin/mosquitto -c /etc/hangcho/broker/mosquitto.conf" in drop_in
    assert f"LimitNOFILE={MOSQUITTO_NOFILE}" in drop_in
    broker = tmp_path / "etc/hangcho/broker"
    conf = (broker / "mosquitto.conf").read_text()
    assert "allow_anonymous false" in conf and "user mosquitto" in conf
    assert "listener 8883\n" in conf and "listener 1883 127.0.0.1\n" in conf  # TLS on every address, plain on loopback
    assert conf.count("use_username_as_clientid true") == 2 and f"certfile {broker / 'broker.crt'}" in conf
    assert (broker / "ca.key").stat().st_mode & 0o777 == 0o600 and (broker / "broker.key").stat().st_mode & 0o077 == 0
    assert "--http 127.0.0.1:8081 --https-port 443" in unit  # the gateway's own server only on this machine
    nginx = (tmp_path / "etc/hangcho/nginx.conf").read_text()
    assert "listen 80 default_server;" in nginx and "listen 443 ssl default_server;" in nginx
    assert "ssl_certificate /etc/hangcho/broker/web.crt;" in nginx and "server 127.0.0.1:8081;" in nginx
    nginx_unit = (tmp_path / "etc/systemd/system/nginx.service.d/hangcho.conf").read_text()
    assert "ExecStart=/usr/sbin/nginx -c /etc/hangcho/nginx.conf" in nginx_unit


def test_install_keeps_every_secret_0600(tmp_path):
    from cryptography import x509

    loose = tmp_path / "center.toml"
    loose.write_text(CONFIG.read_text())
    loose.chmod(0o644)  # as an editor leaves it
    args = ["install", "--config", str(loose), "--root", str(tmp_path / "r"), "--no-systemctl", "--web-host", "gw.xa"]
    for _ in range(2):  # again over the files of a first install
        assert CliRunner().invoke(main, args).exit_code == 0
    etc = tmp_path / "r/etc/hangcho"
    for private in ("center.toml", "broker/secrets.toml", "broker/ca.key", "broker/web.key"):
        assert (etc / private).stat().st_mode & 0o777 == 0o600, private
    cert = x509.load_pem_x509_certificate((etc / "broker/web.crt").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "gw.xa" in names.get_values_for_type(x509.DNSName)


def test_install_puts_the_given_addresses_in_the_brokers_certificate(tmp_path):
    from cryptography import x509

    args = ["install", "--config", str(CONFIG), "--root", str(tmp_path), "--no-systemctl", "--host", "192.168.1.2"]
    assert CliRunner().invoke(main, args).exit_code == 0
    cert = x509.load_pem_x509_certificate((tmp_path / "etc/hangcho/broker/broker.crt").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["192.168.1.2"]


def test_install_again_keeps_the_passwords(tmp_path):
    args = ["install", "--config", str(CONFIG), "--root", str(tmp_path), "--no-systemctl"]
    CliRunner().invoke(main, args)
    first = (tmp_path / "etc/hangcho/broker/secrets.toml").read_text()
    assert CliRunner().invoke(main, args).exit_code == 0
    assert (tmp_path / "etc/hangcho/broker/secrets.toml").read_text() == first


def test_install_refuses_a_bad_config_before_writing(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[center]\n")
    result = CliRunner().invoke(main, ["install", "--config", str(bad), "--root", str(tmp_path / "r")])
    assert result.exit_code != 0 and "center.id" in result.output
    assert not (tmp_path / "r").exists()


def test_install_with_sync_keeps_the_token_private_and_passes_it_to_the_service(tmp_path):
    token = tmp_path / "token"
    token.write_text("3f9c0a1b2d4e5f60.secret\n")
    args = ["install", "--config", str(CONFIG), "--root", str(tmp_path / "r"), "--no-systemctl",
            "--sync-url", "https://hcc.example.gov.vn/api/v1/sync", "--sync-token-file", str(token)]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    kept = tmp_path / "r/etc/hangcho/sync-token"
    assert kept.read_text() == "3f9c0a1b2d4e5f60.secret\n" and kept.stat().st_mode & 0o777 == 0o600
    unit = (tmp_path / "r/etc/systemd/system/hangcho-gateway.service").read_text()
    assert "--sync-url https://hcc.example.gov.vn/api/v1/sync --sync-token-file /etc/hangcho/sync-token" in unit
    half = CliRunner().invoke(main, [*args[:6], "--sync-url", "https://x/api/v1/sync"])
    assert half.exit_code != 0 and "go together" in half.output

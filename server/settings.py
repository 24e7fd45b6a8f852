"""The server's settings: a TOML file, then environment variables over it.

    database_url    sqlite:///<instance>/hangcho-server.db by default; postgresql+psycopg://...
    secret_key      signs sessions; made once and kept in <instance>/secret_key when not given
    province        the name shown on the dashboard
    sync_interval_s how often gateways push (the dashboard refreshes as often)
    stale_after_s   a center whose last sync is older is flagged on the dashboard
    [thresholds]    wait_p90_min (all services) and [thresholds.services] A = 20 (one service)

Environment: HANGCHO_SERVER_CONFIG (the file), HANGCHO_SERVER_DATABASE_URL,
HANGCHO_SERVER_SECRET_KEY, HANGCHO_SERVER_INSTANCE (the folder for the SQLite file and key).
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.config import ConfigError

KNOWN = {"database_url", "secret_key", "province", "sync_interval_s", "stale_after_s", "thresholds"}


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    province: str = "Tỉnh"
    sync_interval_s: int = 10
    stale_after_s: int = 60
    wait_p90_min: float = 30.0
    service_p90_min: dict[str, float] = field(default_factory=dict)

    def threshold(self, service: str) -> float:
        return self.service_p90_min.get(service, self.wait_p90_min)


def _number(data: dict[str, Any], key: str, source: str, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(source, key, f"must be a number > 0, got {value!r}")
    return value


def load(path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    path = path or env.get("HANGCHO_SERVER_CONFIG")
    source = str(path) if path else "(defaults)"
    data: dict[str, Any] = {}
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as e:
            raise ConfigError(source, "-", f"cannot read: {e.strerror}") from e
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(source, "-", f"not valid TOML: {e}") from e
    for key in data:
        if key not in KNOWN:
            raise ConfigError(source, key, f"unknown key; known: {', '.join(sorted(KNOWN))}")
    instance = Path(env.get("HANGCHO_SERVER_INSTANCE", "var"))
    url = env.get("HANGCHO_SERVER_DATABASE_URL") or data.get("database_url")
    if not url:
        instance.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{instance.resolve() / 'hangcho-server.db'}"
    if not url.startswith(("sqlite:", "postgresql")):
        raise ConfigError(source, "database_url", f"must be sqlite:/// or postgresql+psycopg://, got {url!r}")
    thresholds = data.get("thresholds", {})
    for key in thresholds:
        if key not in ("wait_p90_min", "services"):
            raise ConfigError(source, f"thresholds.{key}", "unknown key; known: services, wait_p90_min")
    services = thresholds.get("services", {})
    return Settings(
        database_url=url,
        secret_key=env.get("HANGCHO_SERVER_SECRET_KEY") or data.get("secret_key") or _kept_secret(instance),
        province=str(data.get("province", "Tỉnh")),
        sync_interval_s=int(_number(data, "sync_interval_s", source, 10)),
        stale_after_s=int(_number(data, "stale_after_s", source, 60)),
        wait_p90_min=_number(thresholds, "wait_p90_min", source, 30.0),
        service_p90_min={code: _number(services, code, source, 30.0) for code in services},
    )


def _kept_secret(instance: Path) -> str:
    """A random key made on first start and kept, so sessions survive a restart."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()

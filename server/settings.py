"""The server's settings: a TOML file, then environment variables over it.

    database_url    sqlite:///<instance>/hangcho-server.db by default; postgresql+psycopg://...
    secret_key      signs sessions; made once and kept in <instance>/secret_key when not given
    province        the name shown on the dashboard
    sync_interval_s how often gateways push (the dashboard refreshes as often)
    stale_after_s   a center whose last sync is older is flagged on the dashboard
    [thresholds]    wait_p90_min (all services) and [thresholds.services] A = 20 (one service)
    proxy_hops      reverse proxies in front that set X-Forwarded-For/-Proto (0: none); the
                    client's address and https come from them
    [catalog]       the province's own fields of the service catalog, code = "name", after the
                    nation's (contracts/catalog.py)
    secure_cookies  cookies only over HTTPS; default: true when proxy_hops > 0 (behind the
                    province's TLS proxy), false otherwise (trying it out over plain HTTP)

Environment: HANGCHO_SERVER_CONFIG (the file), HANGCHO_SERVER_DATABASE_URL,
HANGCHO_SERVER_SECRET_KEY, HANGCHO_SERVER_INSTANCE (the folder for the SQLite file and key).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.catalog import NATIONAL, extended
from contracts.validation import ConfigError, Validator, read_toml

KNOWN = {"database_url", "secret_key", "province", "sync_interval_s", "stale_after_s", "thresholds", "proxy_hops",
         "secure_cookies", "catalog"}  # fmt: skip


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    province: str = ""  # e.g. "Thành phố Hồ Chí Minh"; none: the title alone
    sync_interval_s: int = 10
    stale_after_s: int = 60
    wait_p90_min: float = 30.0
    service_p90_min: dict[str, float] = field(default_factory=dict)
    proxy_hops: int = 0
    secure_cookies: bool | None = None  # None: when behind a proxy
    catalog: dict[str, str] = field(default_factory=lambda: dict(NATIONAL))  # the service catalog, with the province's

    def field_name(self, code: str) -> str:
        return self.catalog.get(code, code)

    @property
    def cookies_secure(self) -> bool:
        return self.proxy_hops > 0 if self.secure_cookies is None else self.secure_cookies

    def threshold(self, service: str) -> float:
        return self.service_p90_min.get(service, self.wait_p90_min)


def load(path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    path = path or env.get("HANGCHO_SERVER_CONFIG")
    source = str(path) if path else "(defaults)"
    data: dict[str, Any] = read_toml(path) if path else {}
    v = Validator(source)
    v.known(data, "", tuple(sorted(KNOWN)))
    instance = Path(env.get("HANGCHO_SERVER_INSTANCE", "var"))
    url = env.get("HANGCHO_SERVER_DATABASE_URL") or data.get("database_url")
    if not url:
        instance.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{instance.resolve() / 'hangcho-server.db'}"
    if not url.startswith(("sqlite:", "postgresql")):
        raise ConfigError(source, "database_url", f"must be sqlite:/// or postgresql+psycopg://, got {url!r}")
    thresholds = v.table(data, "thresholds", required=False)
    v.known(thresholds, "thresholds", ("services", "wait_p90_min"))
    services = v.table(thresholds, "services", required=False)
    extra = v.table(data, "catalog", required=False)
    try:
        fields = extended(extra)
    except ValueError as e:
        v.fail("catalog", str(e))
    hops = v.get(data, "", "proxy_hops", int, required=False, default=0)
    if not 0 <= hops <= 5:
        v.fail("proxy_hops", f"from 0 to 5, the reverse proxies in front (got {hops})")
    return Settings(
        database_url=url,
        secret_key=env.get("HANGCHO_SERVER_SECRET_KEY") or data.get("secret_key") or _kept_secret(instance),
        province=str(data.get("province", "")),
        sync_interval_s=int(v.positive(data, "", "sync_interval_s", 10)),
        stale_after_s=int(v.positive(data, "", "stale_after_s", 60)),
        wait_p90_min=v.positive(thresholds, "thresholds", "wait_p90_min", 30.0),
        service_p90_min={code: v.positive(services, "thresholds.services", code, 30.0) for code in services},
        proxy_hops=hops,
        secure_cookies=v.get(data, "", "secure_cookies", bool, required=False),
        catalog=fields,
    )


def _kept_secret(instance: Path) -> str:
    """A random key made on first start and kept, so sessions survive a restart."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()

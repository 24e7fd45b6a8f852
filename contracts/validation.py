"""`ConfigError` and the checks shared by the project's TOML loaders.

A center's configuration (gateway/config.py), a board profile (boards/) and the central server's
settings (server/settings.py) are edited by hand, often by a technician in a hall with no
developer around: each refusal names the file, the key and the reason, in Vietnamese first,
so the message alone is enough to fix it.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any, NoReturn


class ConfigError(ValueError):
    """A configuration file that cannot be used, with where and why."""

    def __init__(self, source: str, key: str, reason: str):
        self.source, self.key, self.reason = source, key, reason
        super().__init__(f"{source}: {key}: {reason}")


def read_toml(path: str | Path) -> dict[str, Any]:
    """The parsed file, or ConfigError saying it is missing, unreadable or not TOML."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), "-", "không tìm thấy tệp (file not found)") from None
    except OSError as e:
        raise ConfigError(str(path), "-", f"không đọc được (cannot read): {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(str(path), "-", f"không phải UTF-8 (not UTF-8): {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(str(path), "-", f"TOML không hợp lệ (invalid TOML): {e}") from None


class Validator:
    """Type checks that name the key that failed."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, reason: str) -> NoReturn:
        raise ConfigError(self.source, key, reason)

    def known(self, table: dict, where: str, keys: tuple[str, ...]) -> None:
        """A misspelt key would silently fall back to its default: refuse it instead."""
        for key in table:
            if key not in keys:
                self.fail(
                    f"{where}.{key}" if where else key,
                    f"khóa không được hỗ trợ (unknown key); known: {', '.join(keys)}",
                )

    def require_table(self, value: Any, where: str) -> None:
        if not isinstance(value, dict):
            self.fail(where, "phải là một bảng (must be a table)")

    def table(self, data: dict, key: str, required: bool = True) -> dict:
        if key not in data:
            if required:
                self.fail(key, "thiếu mục bắt buộc (missing required section)")
            return {}
        self.require_table(data[key], key)
        return data[key]

    def array(self, data: dict, key: str, required: bool = True) -> list:
        if key not in data:
            if required:
                self.fail(key, "thiếu mục bắt buộc (missing required section)")
            return []
        if not isinstance(data[key], list) or (required and not data[key]):
            self.fail(key, "phải là danh sách bảng không rỗng (must be a non-empty array of tables)")
        return data[key]

    def get(self, table: dict, where: str, key: str, kind, required: bool = True, default=None):
        if key not in table:
            if required:
                self.fail(f"{where}.{key}" if where else key, "thiếu khóa bắt buộc (missing required key)")
            return default
        value = table[key]
        name = f"{where}.{key}" if where else key
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            self.fail(name, f"cần kiểu {names} (expected {names}), got {value!r}")
        if isinstance(value, str) and not value.strip():
            self.fail(name, "không được để trống (must not be empty)")
        return value

    def positive(self, table: dict, where: str, key: str, default: float) -> float:
        """A finite number > 0 (an int or a float), or the default when the key is absent."""
        value = self.get(table, where, key, (int, float), required=False, default=default)
        if not (math.isfinite(value) and value > 0):
            self.fail(f"{where}.{key}" if where else key, f"phải là số dương (must be a number > 0), got {value!r}")
        return value

    def unique(self, values: list, where: str, key: str) -> None:
        seen = set()
        for i, value in enumerate(values):
            if value in seen:
                self.fail(f"{where}[{i}].{key}", f"trùng lặp (duplicate) {value!r}")
            seen.add(value)

    def matches(self, value: str, where: str, problem) -> None:
        """Refuse `value` with the reason `problem(value)` gives (contracts.ids), if any."""
        reason = problem(value)
        if reason:
            self.fail(where, reason)

"""Strict parsing of deployment settings from the environment.

Every reader raises ``ImproperlyConfigured`` naming the variable and what it
expected, so a bad value stops start-up with a clear message instead of a
surprise later. Secrets may also come from ``<NAME>_FILE`` (a path whose content
is the value), as container secrets usually are.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    file_var = os.environ.get(f"{name}_FILE")
    if file_var:
        try:
            return Path(file_var).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_var!r} cannot be read: {exc}") from exc
    return os.environ.get(name)


def env_str(name: str, default: str = "") -> str:
    value = _raw(name)
    return default if value is None else value.strip()


def env_bool(name: str, default: bool = False) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use true or false.")


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name}={number} must be at most {maximum}.")
    return number


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    return number


def env_float_list(name: str, default: list[float], *, minimum: float = 0) -> list[float]:
    """Comma-separated numbers, e.g. ``5,300,1800``."""
    value = _raw(name)
    if value is None or value.strip() == "":
        return [float(item) for item in default]
    numbers = []
    for item in value.split(","):
        try:
            number = float(item.strip())
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}={value!r}: {item.strip()!r} is not a number (use e.g. 5,300,1800)."
            ) from None
        if number < minimum:
            raise ImproperlyConfigured(f"{name}: {number} must be at least {minimum}.")
        numbers.append(number)
    return numbers


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_time_zone(name: str, default: str) -> str:
    value = env_str(name, default)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"{name}={value!r} is not a known time zone.") from None
    return value


def env_url(name: str, schemes: tuple[str, ...]) -> str:
    value = env_str(name)
    if value and value.split("://", 1)[0] not in schemes:
        raise ImproperlyConfigured(
            f"{name}={value!r} must start with one of: {', '.join(s + '://' for s in schemes)}"
        )
    return value


_RATE_UNITS = {
    "s": 1,
    "sec": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}


def env_rate(name: str, default: str) -> tuple[int, int]:
    """A request rate such as ``30/min``, ``600/10min``, ``5/s`` or ``1000/day``:
    returns (requests, seconds)."""
    value = env_str(name, default) or default
    match = re.fullmatch(r"(\d+)\s*/\s*(\d*)\s*([a-z]+)", value.strip().lower())
    unit = _RATE_UNITS.get(match.group(3)) if match else None
    if match is None or unit is None:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a rate: use requests/period, e.g. 30/min, 600/10min, "
            "5/s, 100/h or 1000/day."
        )
    requests, multiplier = int(match.group(1)), int(match.group(2) or 1)
    if requests < 1 or multiplier < 1:
        raise ImproperlyConfigured(f"{name}={value!r}: the numbers must be at least 1.")
    return requests, multiplier * unit


def env_proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """``HTTP_X_FORWARDED_PROTO,https``: a request.META header name and the value
    that means https (Django's SECURE_PROXY_SSL_HEADER); unset or empty: None."""
    value = env_str(name)
    if not value:
        return None
    parts = [part.strip() for part in value.split(",")]
    if (
        len(parts) != 2
        or not re.fullmatch(r"HTTP_[A-Z0-9_]+", parts[0])
        or not re.fullmatch(r"[!-~]+", parts[1])
    ):
        raise ImproperlyConfigured(
            f"{name}={value!r} must be a header as Django names it and its value, "
            "e.g. HTTP_X_FORWARDED_PROTO,https"
        )
    return parts[0], parts[1]

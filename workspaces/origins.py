"""A workspace's allowed origins: where its customers come from and go back to.

An origin is ``scheme://host[:port]`` (http or https), kept normalised: the scheme
and host in lower case, an internationalised name in its ASCII (punycode) form,
IPv6 in brackets, and the scheme's default port left out. Written like this it
compares as a string and is usable as is in a CSP ``frame-ancestors`` list.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_ORIGINS = 50
MAX_ORIGIN_LENGTH = 300
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _origin_of(url: str, *, bare: bool) -> str:
    """The normalised origin of ``url``; ValueError (with a message for people)
    when there is none. ``bare``: the text must be only an origin."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(_("Not a valid address.")) from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(_("Use an http:// or https:// origin."))
    if parts.username is not None or parts.password is not None:
        raise ValueError(_("An origin has no user name or password."))
    if bare and (parts.path not in ("", "/") or "?" in text or "#" in text):
        raise ValueError(_("An origin is scheme://host[:port], with no path, query or fragment."))
    host = parts.hostname or ""
    if not host:
        raise ValueError(_("The origin needs a host name."))
    host = _host_normalize(host)
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"


def _host_normalize(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        return f"[{address.compressed}]" if address.version == 6 else address.compressed
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(_("Not a valid host name.")) from None
    if len(host) > 253 or not all(_LABEL.match(label) for label in host.split(".")):
        raise ValueError(_("Not a valid host name."))
    return host


def origin_normalize(value: Any) -> str:
    """``value`` as a normalised origin; ValueError with the reason otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(_("An origin is a string like https://app.example.com."))
    if len(value) > MAX_ORIGIN_LENGTH:
        raise ValueError(_("At most %(count)d characters.") % {"count": MAX_ORIGIN_LENGTH})
    return _origin_of(value, bare=True)


class InvalidOrigins(ValueError):
    """Which entries of a list are not origins: ``{index: reason}``, or the list
    itself (``{None: reason}``) when it is too long."""

    def __init__(self, errors: dict[int | None, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def origins_normalize(values: Iterable[Any]) -> list[str]:
    """Each origin normalised, duplicates dropped, order kept; InvalidOrigins
    naming each bad entry by its index otherwise."""
    values = list(values)
    if len(values) > MAX_ORIGINS:
        raise InvalidOrigins({None: _("At most %(count)d origins.") % {"count": MAX_ORIGINS}})
    normalised: list[str] = []
    errors: dict[int | None, str] = {}
    for index, value in enumerate(values):
        try:
            origin = origin_normalize(value)
        except ValueError as error:
            errors[index] = str(error)
            continue
        if origin not in normalised:
            normalised.append(origin)
    if errors:
        raise InvalidOrigins(errors)
    return normalised


def origins_validate(value: Any) -> None:
    """Model validator: a list of distinct origins in normal form."""
    try:
        valid = isinstance(value, list) and origins_normalize(value) == value
    except InvalidOrigins:
        valid = False
    if not valid:
        raise ValidationError(_("A list of distinct origins such as https://app.example.com."))


def url_origin(url: str) -> str | None:
    """The normalised origin of an http(s) URL, or None."""
    try:
        return _origin_of(url, bare=False)
    except ValueError:
        return None


def url_on_origins(url: str, origins: Iterable[str]) -> bool:
    """Whether ``url`` is on one of ``origins`` (same scheme, host and port). An
    empty list allows every http(s) URL."""
    allowed = list(origins)
    if not allowed:
        return True
    return url_origin(url) in allowed


class OriginsFormField(forms.CharField):
    """One origin a line in a text box; cleaned to the normalised list."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})

    def __init__(self, *, encoder: Any = None, decoder: Any = None, **kwargs: Any) -> None:
        kwargs.pop("max_length", None)
        kwargs.setdefault(
            "help_text",
            _(
                "One origin a line, such as https://app.example.com. When set, a "
                "session's return_url must be on one of them."
            ),
        )
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(str(item) for item in value)
        return value

    def to_python(self, value: Any) -> Any:
        if isinstance(value, list):
            lines = value
        else:
            text = super().to_python(value) or ""
            lines = [line.strip() for line in text.splitlines() if line.strip()]
        try:
            return origins_normalize(lines)
        except InvalidOrigins as error:
            raise ValidationError(
                [
                    _("Line %(line)d (%(value)s): %(reason)s")
                    % {"line": index + 1, "value": lines[index], "reason": reason}
                    if index is not None
                    else reason
                    for index, reason in error.errors.items()
                ]
            ) from None

"""The interface every outbound channel implements, and the registry of them.

A transport sends one ``Delivery`` and either returns (sent) or raises
``TransportError``. ``permanent=True`` means trying again cannot help (a 410, a
refused address, a malformed target): the delivery goes dead at once and, with
``disable=True``, its channel or endpoint is switched off. Retries, records and
dead letters are the delivery machinery's job (``alerts.services``), the same for
every transport, so another app can register a kind of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from alerts.models import Delivery


class TransportError(Exception):
    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        disable: bool = False,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent or disable
        self.disable = disable
        self.status_code = status_code


# What an alert's channels read while sending: the alert, its team, session and
# answer (``Transport.related`` of the email, Slack and webhook transports).
ALERT_RELATED = (
    "event",
    "channel",
    "alert__team",
    "alert__workspace",
    "alert__session__response",
    "alert__session__offer",
)


class Transport:
    kind: ClassVar[str]
    # What sending reads besides the delivery row: loaded with the row, in one
    # query, when a worker claims it.
    related: ClassVar[tuple[str, ...]] = ("event", "workspace")

    def send(self, delivery: Delivery) -> int | None:
        """Send the delivery; return the HTTP status code when there is one."""
        raise NotImplementedError


_REGISTRY: dict[str, type[Transport]] = {}


def register(cls: type[Transport]) -> type[Transport]:
    _REGISTRY[cls.kind] = cls
    return cls


def _registered(kind: str) -> type[Transport] | None:
    # Importing the modules registers the built-in kinds.
    from alerts.transports import digest, email, endpoint, slack, webhook  # noqa: F401

    return _REGISTRY.get(kind)


def transport_for(kind: str) -> Transport:
    cls = _registered(kind)
    if cls is None:
        raise TransportError(f"No transport for kind {kind!r}.", permanent=True)
    return cls()


def related_for(kind: str) -> tuple[str, ...]:
    """What a delivery of ``kind`` needs loaded to be sent (an unknown kind: just
    the event; sending it then fails for good)."""
    cls = _registered(kind)
    return cls.related if cls is not None else ("event",)

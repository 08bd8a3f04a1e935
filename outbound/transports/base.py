"""The interface every outbound channel implements, and the registry of them.

A transport sends one ``Delivery`` and either returns (sent) or raises
``TransportError``. ``permanent=True`` means trying again cannot help (a 410, a
refused address, a malformed target): the delivery goes dead at once and, with
``disable=True``, the transport's ``disable`` switches its target off (an alert
channel, a host endpoint). Retries, records and dead letters are the sender's
job (``outbound.services``), the same for every transport.

This app knows no kind: each app that sends registers its transports with
``register`` from its ``AppConfig.ready`` (alerts: email, Slack, webhook,
endpoint; offers: the customer's confirmation, Stripe; analytics: the digest).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from outbound.models import Delivery


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


class Transport:
    kind: ClassVar[str]
    # What sending reads besides the delivery row: loaded with the row, in one
    # query, when a worker claims it (``select_related`` paths, which may follow
    # the registering app's own link to the delivery, as alerts' ``route``).
    related: ClassVar[tuple[str, ...]] = ("event", "workspace")

    def send(self, delivery: Delivery) -> int | None:
        """Send the delivery; return the HTTP status code when there is one."""
        raise NotImplementedError

    def target(self, delivery: Delivery) -> str:
        """Where the delivery goes, for people (the API, the admin, an export)."""
        return ""

    def disable(self, delivery: Delivery, *, reason: str) -> None:
        """Switch off what the delivery went to, after a ``disable`` refusal (in
        the sender's transaction). Nothing by default."""


_REGISTRY: dict[str, type[Transport]] = {}


def register(cls: type[Transport]) -> type[Transport]:
    _REGISTRY[cls.kind] = cls
    return cls


def registered_kinds() -> list[str]:
    return sorted(_REGISTRY)


def transport_for(kind: str) -> Transport:
    cls = _REGISTRY.get(kind)
    if cls is None:
        raise TransportError(f"No transport for kind {kind!r}.", permanent=True)
    return cls()


def related_for(kind: str) -> tuple[str, ...]:
    """What a delivery of ``kind`` needs loaded to be sent (an unknown kind: just
    the event; sending it then fails for good)."""
    cls = _REGISTRY.get(kind)
    return cls.related if cls is not None else ("event",)


def target_of(delivery: Delivery) -> str:
    """Where ``delivery`` goes, as its transport tells it ("" for an unknown kind)."""
    cls = _REGISTRY.get(delivery.kind)
    return cls().target(delivery) if cls is not None else ""

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


class Transport:
    kind: ClassVar[str]

    def send(self, delivery: Delivery) -> int | None:
        """Send the delivery; return the HTTP status code when there is one."""
        raise NotImplementedError


_REGISTRY: dict[str, type[Transport]] = {}


def register(cls: type[Transport]) -> type[Transport]:
    _REGISTRY[cls.kind] = cls
    return cls


def transport_for(kind: str) -> Transport:
    # Importing the modules registers the built-in kinds.
    from alerts.transports import email, endpoint, slack, webhook  # noqa: F401

    try:
        return _REGISTRY[kind]()
    except KeyError:
        raise TransportError(f"No transport for kind {kind!r}.", permanent=True) from None

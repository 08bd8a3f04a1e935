"""One module per kind of outbound channel, all behind ``base.Transport``."""

from alerts.transports.base import Transport, TransportError, transport_for

__all__ = ["Transport", "TransportError", "transport_for"]

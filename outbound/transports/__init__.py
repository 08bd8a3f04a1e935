"""The transport registry and the generic helpers every transport uses: guarded
outbound HTTP (``http``, ``addresses``) and email (``mail``). The transports
themselves belong to the apps that send (registered in their ``ready``)."""

from outbound.transports.base import Transport, TransportError, register, transport_for

__all__ = ["Transport", "TransportError", "register", "transport_for"]

"""Gunicorn's access log without session tokens (``--logger-class`` in Procfile).

Every string a log line can be made of (request line, path, Referer, any
header) has the tokens of ``/c/{token}/`` and ``/api/v1/flow/{token}`` replaced
by ``[redacted]`` (config/logs.py).
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from config.logs import redact_tokens


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: redact_tokens(value) if isinstance(value, str) else value
            for key, value in atoms.items()
        }

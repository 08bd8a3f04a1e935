"""Gunicorn's logs without session tokens (``--logger-class`` in Procfile).

Every string an access-log line can be made of (request line, path, Referer, any
header) has the tokens of ``/c/{token}/`` and ``/api/v1/flow/{token}`` replaced
by ``[redacted]`` (config/logs.py). Gunicorn's own lines (its error log) are
written as ``LOG_FORMAT`` says: JSON lines by default, like the application's.
The application writes its own request log with the request id
(config/requestlog.py), so the Procfile turns gunicorn's access log off.
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.glogging import Logger

from config.logs import RedactTokensFilter, formatter, redact_tokens


class RedactingLogger(Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        line = formatter(os.environ.get("LOG_FORMAT", "json").strip().lower())
        for handler in self.error_log.handlers:
            handler.setFormatter(line)
            handler.addFilter(RedactTokensFilter())

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: redact_tokens(value) if isinstance(value, str) else value
            for key, value in atoms.items()
        }

"""Settings as mypy's Django plugin loads them: the real ones, with a placeholder
SECRET_KEY when none is set, so type-checking needs no secret (the service itself
refuses to start without one unless DEBUG is on)."""

import os

os.environ.setdefault("SECRET_KEY", "type-checking-only-not-a-secret")

from config.settings import *  # noqa: F403

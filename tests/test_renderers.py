"""The API's JSON renderer writes what DRF's would, byte for byte."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from config.renderers import FastJSONRenderer
from surveys.taxonomy import category_label


def test_the_same_bytes_as_drfs_renderer() -> None:
    data = {
        "from": date(2026, 6, 6),
        "created_at": datetime(2026, 3, 1, 15, 30, 5, 123456, tzinfo=UTC),
        "local": datetime(2026, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=8))),
        "naive": datetime(2026, 3, 1, 23, 30),
        "at": time(9, 30),
        "took": timedelta(seconds=90),
        "session": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "mrr": Decimal("12.50"),
        "label": gettext_lazy("Price"),
        "category": category_label("price"),
        "rates": [0.25, 0.3333, 1.0, 0.0, None, True, False, -3, 2**62],
        "words": '贵 "quoted" \\ back\nslash \t tab é ☃ \x01',
        "separators": "a\u2028b\u2029c",
        "periods": [OrderedDict(start=date(2026, 1, 5), categories={"price": {"share": None}})],
        7: "an int key",
        "nested": {"empty": {}, "list": [], "tuple": (1, 2)},
    }
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


def test_what_orjson_refuses_is_rendered_as_drf_renders_it() -> None:
    @dataclass
    class Point:
        x: int

    big = {"n": 2**70}
    expected = b'{"n":1180591620717411303424}'
    assert FastJSONRenderer().render(big) == JSONRenderer().render(big) == expected
    # Neither writes a dataclass: the same error as before.
    with pytest.raises(TypeError):
        JSONRenderer().render({"p": Point(1)})
    with pytest.raises(TypeError):
        FastJSONRenderer().render({"p": Point(1)})
    assert FastJSONRenderer().render(None) == b""


def test_pretty_printing_is_drfs() -> None:
    data = {"a": [1, {"b": date(2026, 1, 1)}]}
    pretty = "application/json; indent=4"
    out = FastJSONRenderer().render(data, pretty, {})
    assert out == JSONRenderer().render(data, pretty, {})
    assert b'\n    "a"' in out


def test_the_api_answers_with_it(client, db) -> None:
    from tests.factories import make_workspace
    from workspaces.services import api_key_issue

    workspace = make_workspace()
    key = api_key_issue(workspace=workspace, name="t").raw_key
    response = client.get(
        "/api/v1/analytics/trends",
        {"from": "2026-01-01", "to": "2026-01-14", "interval": "week"},
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 200
    assert response.json()["periods"][0]["start"] == "2025-12-29"
    assert isinstance(response.renderer_context["response"].accepted_renderer, FastJSONRenderer)

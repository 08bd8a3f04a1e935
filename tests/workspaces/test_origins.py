"""Allowed origins: what counts as one, how it is written, and how a return_url
is matched against them."""

from __future__ import annotations

import pytest

from workspaces.origins import InvalidOrigins, origins_normalize, url_on_origins


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://App.Example.COM", "https://app.example.com"),
        ("https://app.example.com/", "https://app.example.com"),
        ("https://app.example.com:443", "https://app.example.com"),
        ("http://app.example.com:80", "http://app.example.com"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("https://app.example.com:8443", "https://app.example.com:8443"),
        ("  https://app.example.com  ", "https://app.example.com"),
        ("https://[2001:DB8::1]:8443", "https://[2001:db8::1]:8443"),
        ("https://192.0.2.7", "https://192.0.2.7"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
    ],
)
def test_origins_are_kept_in_one_form(given: str, kept: str) -> None:
    assert origins_normalize([given]) == [kept]


@pytest.mark.parametrize(
    "bad",
    [
        "app.example.com",
        "ftp://app.example.com",
        "javascript:alert(1)",
        "https://app.example.com/account",
        "https://app.example.com?x=1",
        "https://app.example.com#top",
        "https://user:pw@app.example.com",
        "https://app.example.com:99999",
        "https://app..example.com",
        "https://-app.example.com",
        "https://app_1.example.com",
        "https://*.example.com",
        "https://",
        "",
        42,
    ],
)
def test_what_is_not_an_origin_is_refused_by_index(bad: object) -> None:
    with pytest.raises(InvalidOrigins) as refused:
        origins_normalize(["https://ok.example.com", bad])
    assert list(refused.value.errors) == [1]


def test_duplicates_are_dropped_in_order() -> None:
    given = ["https://b.example.com", "https://a.example.com", "https://B.example.com:443/"]
    assert origins_normalize(given) == ["https://b.example.com", "https://a.example.com"]


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://app.example.com/account?tab=billing#x", True),
        ("https://APP.example.com:443/account", True),
        ("http://app.example.com/account", False),
        ("https://app.example.com:8443/account", False),
        ("https://app.example.com.evil.example/account", False),
        ("https://evil.example/app.example.com", False),
        ("https://app.example.com@evil.example/", False),
        ("https://sub.app.example.com/", False),
        ("https://localhost:8000/back", True),
    ],
)
def test_a_url_is_on_an_origin_by_scheme_host_and_port(url: str, allowed: bool) -> None:
    origins = ["https://app.example.com", "https://localhost:8000"]
    assert url_on_origins(url, origins) is allowed


def test_no_origins_allow_any_url() -> None:
    assert url_on_origins("https://anywhere.example/back", [])

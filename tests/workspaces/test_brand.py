"""A workspace's brand: set through the API and the admin, checked (WCAG AA
contrast, a real PNG/JPEG/WebP logo of at most 200 KB, re-encoded without its
metadata), served by the service, and shown on the hosted pages and emails."""

from __future__ import annotations

import base64
import io
import os
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from PIL import Image, PngImagePlugin
from rest_framework.test import APIClient

from tests.factories import make_session
from workspaces.brand import logo_process
from workspaces.models import BrandLogo, Workspace

pytestmark = pytest.mark.django_db
URL = "/api/v1/workspace"


def image_bytes(kind: str, size: tuple[int, int] = (120, 40), **save: Any) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 90, 200)).save(out, kind, **save)
    return out.getvalue()


def data_url(raw: bytes, kind: str = "image/png") -> str:
    return f"data:{kind};base64,{base64.b64encode(raw).decode()}"


def test_the_brand_is_read_with_defaults(api: APIClient, workspace: Workspace) -> None:
    brand = api.get(URL).json()["brand"]
    assert brand == {
        "name": "Acme Cloud",
        "accent_color": "#1f5fd1",
        "logo": None,
        "support_email": "",
    }


def test_patch_sets_name_colour_address_and_logo(api: APIClient, workspace: Workspace) -> None:
    response = api.patch(
        URL,
        {
            "brand": {
                "name": "Acme",
                "accent_color": "#0B6E4F",
                "support_email": "help@acme.example",
                "logo": data_url(image_bytes("PNG")),
            }
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    brand = response.json()["brand"]
    assert brand["name"] == "Acme" and brand["accent_color"] == "#0b6e4f"
    assert brand["support_email"] == "help@acme.example"
    assert brand["logo"].startswith("http") and f"/brand/{workspace.public_id}/" in brand["logo"]
    logo = BrandLogo.objects.get(workspace=workspace)
    assert logo.content_type == "image/png" and (logo.width, logo.height) == (120, 40)

    # Only the keys given change; null removes the logo.
    again = api.patch(URL, {"brand": {"logo": None}}, format="json").json()["brand"]
    assert again["logo"] is None and again["name"] == "Acme"
    assert not BrandLogo.objects.filter(workspace=workspace).exists()


@pytest.mark.parametrize(
    ("color", "ratio"), [("#7fb3ff", "2.14"), ("#777777", "4.47"), ("#ffffff", "1.00")]
)
def test_a_colour_too_light_for_white_text_is_refused_with_its_ratio(
    api: APIClient, workspace: Workspace, color: str, ratio: str
) -> None:
    response = api.patch(URL, {"brand": {"accent_color": color}}, format="json")
    assert response.status_code == 400
    message = response.json()["error"]["fields"]["brand"]["accent_color"]
    assert f"{ratio}:1" in message and "4.5:1" in message
    workspace.refresh_from_db()
    assert workspace.brand_accent_color == ""


def test_the_darkest_grey_that_passes_is_accepted(api: APIClient, workspace: Workspace) -> None:
    response = api.patch(URL, {"brand": {"accent_color": "#767676"}}, format="json")  # 4.54:1
    assert response.status_code == 200
    assert api.patch(URL, {"brand": {"accent_color": "blue"}}, format="json").status_code == 400
    bad = api.patch(URL, {"brand": {"support_email": "not-an-address"}}, format="json")
    assert bad.status_code == 400 and "support_email" in bad.json()["error"]["fields"]["brand"]


@pytest.mark.parametrize(
    ("logo", "says"),
    [
        (data_url(b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"), "SVG"),
        (data_url(image_bytes("GIF"), "image/gif"), "PNG, JPEG or WebP"),
        (data_url(b"not an image"), "PNG, JPEG or WebP"),
        (data_url(image_bytes("PNG", (300, 300))[:120]), "PNG, JPEG or WebP"),  # truncated
        ("data:image/png,raw", "base64"),
        ("%%%", "base64"),
        (data_url(image_bytes("PNG", (5000, 5000))), "5000x5000"),
        (data_url(os.urandom(201 * 1024)), "201 KB"),
    ],
)
def test_a_bad_logo_is_refused_saying_why(
    api: APIClient, workspace: Workspace, logo: str, says: str
) -> None:
    response = api.patch(URL, {"brand": {"logo": logo}}, format="json")
    assert response.status_code == 400, response.json()
    assert says in response.json()["error"]["fields"]["brand"]["logo"]
    assert not BrandLogo.objects.exists()


def test_unknown_brand_keys_are_named(api: APIClient) -> None:
    response = api.patch(URL, {"brand": {"colour": "#000000"}}, format="json")
    assert response.status_code == 400
    assert "colour" in response.json()["error"]["fields"]["brand"]


@pytest.mark.parametrize(
    ("kind", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_logos_are_encoded_again_without_metadata(kind: str, mime: str) -> None:
    extra: dict[str, Any] = {}
    if kind == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Author", "secret-author-name")
        extra["pnginfo"] = info
    else:
        exif = Image.Exif()
        exif[0x013B] = "secret-author-name"  # Artist
        extra["exif"] = exif
    raw = image_bytes(kind, (1600, 400), **extra)
    assert b"secret-author-name" in raw
    logo = logo_process(raw)
    assert logo.content_type == mime
    assert b"secret-author-name" not in logo.content
    assert (logo.width, logo.height) == (512, 128)  # scaled to fit 512 px
    with Image.open(io.BytesIO(logo.content)) as image:
        assert image.format == kind


def test_the_logo_is_served_cached_with_an_etag(api: APIClient, workspace: Workspace) -> None:
    api.patch(URL, {"brand": {"logo": data_url(image_bytes("PNG"))}}, format="json")
    workspace.refresh_from_db()
    path = f"/brand/{workspace.public_id}/{workspace.brand_logo_key}"
    response = Client().get(path)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert (
        "immutable" in response["Cache-Control"] and "max-age=31536000" in response["Cache-Control"]
    )
    assert response.content.startswith(b"\x89PNG")
    again = Client().get(path, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    # An older key (an email sent before the logo changed) gets today's logo, briefly cached.
    old = Client().get(f"/brand/{workspace.public_id}/0000.png")
    assert old.status_code == 200 and "immutable" not in old["Cache-Control"]
    assert Client().get("/brand/ws_nope/0000.png").status_code == 404


def test_the_hosted_pages_show_the_brand_without_extra_queries(
    api: APIClient, workspace: Workspace, django_assert_max_num_queries: Any
) -> None:
    api.patch(
        URL,
        {
            "brand": {
                "name": "Acme",
                "accent_color": "#0b6e4f",
                "support_email": "help@acme.example",
                "logo": data_url(image_bytes("PNG")),
            }
        },
        format="json",
    )
    workspace.refresh_from_db()
    session = make_session(workspace, locale="en")
    page = Client().get(f"/c/{session.token}/")
    html = page.content.decode()
    assert '<span class="brand-name">Acme</span>' in html
    assert f'src="/brand/{workspace.public_id}/{workspace.brand_logo_key}"' in html
    assert "<style>:root{--accent:#0b6e4f}</style>" in html
    assert 'href="mailto:help@acme.example"' in html
    assert "Step 1 of 2" in html
    # The inline style is allowed by its hash, and nothing else inline is.
    assert "'sha256-" in page["Content-Security-Policy"].split("style-src")[1].split(";")[0]


def test_the_confirmation_email_carries_the_brand(
    workspace: Workspace, api: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    workspace.send_confirmation_email = True
    workspace.save(update_fields=["send_confirmation_email"])
    api.patch(
        URL,
        {
            "brand": {
                "name": "Acme",
                "support_email": "help@acme.example",
                "logo": data_url(image_bytes("PNG")),
            }
        },
        format="json",
    )
    workspace.refresh_from_db()
    session = make_session(workspace, locale="en")
    with django_capture_on_commit_callbacks(execute=True):
        APIClient().post(f"/api/v1/flow/{session.token}/cancel")
    sent = [m for m in mail.outbox if m.to == [session.customer_email]]
    assert len(sent) == 1
    assert sent[0].subject.endswith("· Acme")
    assert "— Acme" in sent[0].body and "help@acme.example" in sent[0].body
    html = sent[0].alternatives[0][0]
    assert f"/brand/{workspace.public_id}/{workspace.brand_logo_key}" in html
    assert 'src="http' in html  # an absolute URL, for mail clients


def test_the_admin_sets_the_brand_and_uploads_a_logo(
    admin_client: Client, workspace: Workspace
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = f"/admin/workspaces/workspace/{workspace.pk}/change/"
    form = admin_client.get(url)
    assert form.status_code == 200 and b'name="brand_logo_upload"' in form.content
    fields = {
        "name": workspace.name,
        "slug": workspace.slug,
        "time_zone": "UTC",
        "default_locale": "en",
        "currency": "USD",
        "offer_cooldown_days": 90,
        "allowed_origins": "",
        "memberships-TOTAL_FORMS": 0,
        "memberships-INITIAL_FORMS": 0,
        "brand_name": "Acme",
        "brand_support_email": "help@acme.example",
    }
    refused = admin_client.post(url, {**fields, "brand_accent_color": "#aabbcc"})
    assert refused.status_code == 200 and b"contrast ratio of" in refused.content
    svg = SimpleUploadedFile(
        "logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"
    )
    refused = admin_client.post(url, {**fields, "brand_logo_upload": svg})
    assert refused.status_code == 200 and b"SVG is not accepted" in refused.content
    png = SimpleUploadedFile("logo.png", image_bytes("PNG"), "image/png")
    version = workspace.config_version
    saved = admin_client.post(
        url, {**fields, "brand_accent_color": "#0B6E4F", "brand_logo_upload": png}
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    workspace.refresh_from_db()
    assert (workspace.brand_name, workspace.brand_accent_color) == ("Acme", "#0b6e4f")
    assert workspace.brand_logo_key and BrandLogo.objects.filter(workspace=workspace).exists()
    assert workspace.config_version > version  # the pages' caches see the change

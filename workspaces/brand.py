"""A workspace's brand on the customer's pages and emails: name, accent colour,
logo and support address.

- The accent colour is the background of the primary buttons, under white text,
  so it must reach WCAG AA contrast with white (4.5:1); a lighter one is refused
  with the ratio it has.
- A logo is PNG, JPEG or WebP of at most 200 KB. Pillow checks it, keeps the
  first frame, scales it to fit ``LOGO_MAX_SIDE`` and encodes it again in the
  same format, which drops every metadata chunk (EXIF, comments, text). SVG is
  refused: it can carry script. The bytes live in their own table
  (``BrandLogo``), so the flow's hot read never loads them; the workspace keeps
  only the key of the current logo, and the page links to
  ``/brand/<public id>/<key>``, cached for a year.
- The hosted pages read the brand through a configuration cache (one per
  process, keyed by ``config_version``): no query, and the inline style with
  the accent colour and its CSP hash are computed once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from workspaces.accent import DEFAULT_ACCENT_COLOR
from workspaces.config_cache import ConfigCache
from workspaces.models import Workspace

LOGO_MAX_BYTES = 200 * 1024
# Larger logos are scaled down to fit this box (the pages show them 40 px high).
LOGO_MAX_SIDE = 512
# An image claiming more pixels than this is refused before it is decoded.
LOGO_MAX_PIXELS = 4096 * 4096
LOGO_FORMATS = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "WEBP": ("image/webp", "webp"),
}
_DATA_URL = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(?P<b64>;base64)?,(?P<data>.*)$", re.S)


# --- Logo --------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessedLogo:
    content: bytes
    content_type: str
    extension: str
    width: int
    height: int
    sha256: str

    @property
    def key(self) -> str:
        """The logo's name in its URL: its content hash, so a new logo is a new URL."""
        return f"{self.sha256[:20]}.{self.extension}"


def logo_process(data: bytes) -> ProcessedLogo:
    """Check an uploaded logo and encode it again; ValueError saying what is wrong."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise ValueError(_("The logo is empty."))
    if len(data) > LOGO_MAX_BYTES:
        raise ValueError(
            _("The logo is %(size)d KB; at most %(limit)d KB.")
            % {"size": (len(data) + 1023) // 1024, "limit": LOGO_MAX_BYTES // 1024}
        )
    not_an_image = _("The logo must be a PNG, JPEG or WebP image (SVG is not accepted).")
    try:
        image = Image.open(io.BytesIO(data), formats=list(LOGO_FORMATS))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValueError(not_an_image) from None
    with image:
        kind = image.format or ""
        width, height = image.size
        if width < 1 or height < 1 or width * height > LOGO_MAX_PIXELS:
            raise ValueError(
                _("The logo is %(width)dx%(height)d pixels; at most %(side)dx%(side)d.")
                % {"width": width, "height": height, "side": 4096}
            )
        try:
            image.seek(0)  # the first frame of an animation
            image.load()
            frame = image.copy()
        # A damaged file fails in the decoder, in whatever way it fails: it is
        # the uploader's file that is wrong, never a reason for a 500.
        except Exception:
            raise ValueError(not_an_image) from None
    content_type, extension = LOGO_FORMATS[kind]
    frame.thumbnail((LOGO_MAX_SIDE, LOGO_MAX_SIDE))
    out = io.BytesIO()
    if kind == "JPEG":
        if frame.mode not in ("RGB", "L"):
            frame = frame.convert("RGB")
        frame.save(out, "JPEG", quality=88, optimize=True)
    elif kind == "WEBP":
        if frame.mode not in ("RGB", "RGBA"):
            frame = frame.convert("RGBA")
        frame.save(out, "WEBP", quality=88, method=4)
    else:
        if frame.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            frame = frame.convert("RGBA")
        frame.save(out, "PNG", optimize=True)
    content = out.getvalue()
    if len(content) > LOGO_MAX_BYTES:
        raise ValueError(
            _("The logo is larger than %(limit)d KB once encoded; use a smaller image.")
            % {"limit": LOGO_MAX_BYTES // 1024}
        )
    return ProcessedLogo(
        content=content,
        content_type=content_type,
        extension=extension,
        width=frame.width,
        height=frame.height,
        sha256=hashlib.sha256(content).hexdigest(),
    )


def logo_from_data_url(value: str) -> bytes:
    """The bytes of a ``data:image/…;base64,…`` URL (or of bare base64);
    ValueError otherwise."""
    text = value.strip()
    match = _DATA_URL.match(text)
    if match is not None:
        if not match.group("b64"):
            raise ValueError(_("The logo must be a base64 data URL (data:image/png;base64,…)."))
        text = match.group("data")
    try:
        return base64.b64decode(re.sub(r"\s+", "", text), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            _("The logo must be a base64 data URL (data:image/png;base64,…).")
        ) from None


# --- What the pages show ------------------------------------------------------------


@dataclass(frozen=True)
class Brand:
    name: str
    accent_color: str
    support_email: str
    logo_path: str  # "" without a logo
    # The page's only inline style, and its CSP source ('sha256-…').
    style: str
    style_source: str

    @property
    def logo_url(self) -> str:
        """The logo's absolute URL (for emails), or ""."""
        if not self.logo_path:
            return ""
        return settings.PUBLIC_BASE_URL.rstrip("/") + self.logo_path


def logo_path(workspace: Workspace) -> str:
    if not workspace.brand_logo_key:
        return ""
    return reverse("brand-logo", args=[workspace.public_id, workspace.brand_logo_key])


def _brand_build(workspace: Workspace) -> Brand:
    accent = workspace.brand_accent_color or DEFAULT_ACCENT_COLOR
    style = f":root{{--accent:{accent}}}"
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    return Brand(
        name=workspace.brand_name or workspace.name,
        accent_color=accent,
        support_email=workspace.brand_support_email,
        logo_path=logo_path(workspace),
        style=style,
        style_source=f"'sha256-{digest}'",
    )


_brands: ConfigCache[Brand] = ConfigCache(_brand_build, size=256)


def workspace_brand(workspace: Workspace) -> Brand:
    """The workspace's brand as the pages show it (cached per configuration
    version: every change to the brand bumps it)."""
    return _brands.get(workspace)

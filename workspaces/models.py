"""Tenants, who belongs to them, and how servers and widgets prove who they are."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from workspaces.accent import accent_color_validate
from workspaces.origins import OriginsFormField, origins_validate

STRIPE_KEY_PREFIXES = ("sk_", "rk_")
# The longest retention of personal data that can be set (a century, in days).
RETENTION_MAX_DAYS = 36500


class OriginListField(models.JSONField):
    """A JSON list of origins, edited one a line in forms."""

    def formfield(self, **kwargs: Any) -> Any:
        # Always one a line, even where an admin overrides JSON fields' form class:
        # what it holds is checked as origins, not as free JSON.
        return super().formfield(**{**kwargs, "form_class": OriginsFormField})


def new_public_id() -> str:
    return "ws_" + secrets.token_hex(8)


def new_identity_secret() -> str:
    return "wis_" + secrets.token_urlsafe(32)


class Workspace(models.Model):
    """A subscription business that puts our cancel flow in front of its customers."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    public_id = models.CharField(max_length=40, unique=True, default=new_public_id, editable=False)
    time_zone = models.CharField(max_length=64, default="UTC")
    default_locale = models.CharField(max_length=10, choices=settings.LANGUAGES, default="en")
    currency = models.CharField(max_length=3, default="USD")
    # Signs the widget's customer identity (HMAC-SHA256); never sent to browsers.
    identity_secret = models.CharField(max_length=80, default=new_identity_secret)
    # Origins (scheme://host[:port], normalised) of the host's product: a session's
    # return_url must be on one of them when any are set (workspaces.origins).
    allowed_origins = OriginListField(
        _("allowed origins"), default=list, blank=True, validators=[origins_validate]
    )
    # Goes up whenever the flow's configuration changes (offers, targeting rules,
    # experiments, categorisation rules, competitors, the trained classifier).
    # The flow loads the workspace with the session anyway, so in-process caches
    # keyed by (workspace id, config_version) cost no query and are never stale.
    config_version = models.PositiveIntegerField(default=1, editable=False)
    # A customer who accepted an offer this recently is not offered one again
    # (0: no cooldown), so offers never turn into a discount loop.
    offer_cooldown_days = models.PositiveSmallIntegerField(default=90)
    # German-style cancellation (§ 312k BGB): the cancel path comes first, with the
    # legal button wording, and any offer is optional and comes after it.
    compliance_mode = models.BooleanField(default=False)
    # Email the customer a confirmation of the outcome (saved or cancelled).
    send_confirmation_email = models.BooleanField(default=False)
    # Apply outcomes in Stripe (offers.stripe_billing): a coupon for a discount,
    # pause_collection for a pause, a price change for a downgrade, a cancellation
    # at period end. The key is stored in the database as is (it must be sent, so
    # it cannot be hashed) and never shown back in full; a restricted key (rk_…)
    # allowed to write coupons and subscriptions only is the safer choice.
    stripe_enabled = models.BooleanField(
        _("apply outcomes in Stripe"),
        default=False,
        help_text=_("Apply each saved or cancelled outcome to the customer's Stripe subscription."),
    )
    stripe_secret_key = models.CharField(_("Stripe secret key"), max_length=255, blank=True)
    # Verifies Stripe's webhooks (customer.subscription.deleted / .updated), which
    # tell the analytics which saves lasted (offers.subscription_events).
    stripe_webhook_secret = models.CharField(
        _("Stripe webhook signing secret"),
        max_length=255,
        blank=True,
        help_text=_(
            "The endpoint's signing secret (whsec_…) from Stripe's dashboard, for "
            "/api/v1/stripe/webhooks/<workspace id>."
        ),
    )
    # Erase customers' personal data from sessions finished this many days ago
    # (privacy.services.retention_erase). Empty: RETAIN_PERSONAL_DATA_DAYS applies;
    # 0: keep it until a customer is erased on request.
    retain_personal_data_days = models.PositiveIntegerField(
        _("keep personal data for (days)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(RETENTION_MAX_DAYS)],
        help_text=_(
            "Customers' email, name, id and words are erased from sessions finished this "
            "many days ago (the counts stay). Empty: the server's RETAIN_PERSONAL_DATA_DAYS; "
            "0: keep them."
        ),
    )
    # The brand on the customer's pages and emails (workspaces.brand). Empty: the
    # workspace's name, the default accent colour, no support address, no logo.
    brand_name = models.CharField(
        _("brand name"),
        max_length=200,
        blank=True,
        help_text=_("Shown to customers on the cancel pages and in emails. Empty: the name."),
    )
    brand_accent_color = models.CharField(
        _("accent colour"),
        max_length=7,
        blank=True,
        validators=[accent_color_validate],
        help_text=_(
            "#rrggbb, the colour of the main buttons under white text: it must reach "
            "WCAG AA contrast (4.5:1). Empty: the default blue."
        ),
    )
    brand_support_email = models.EmailField(
        _("support email"),
        blank=True,
        help_text=_("Where customers can write with questions; shown on the pages and emails."),
    )
    # The current logo's key ("<content hash>.<ext>", its URL's last part); the
    # bytes are in BrandLogo, so loading a workspace never loads them.
    brand_logo_key = models.CharField(max_length=40, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        key = self.stripe_secret_key
        if key and not key.startswith(STRIPE_KEY_PREFIXES):
            raise ValidationError(
                {"stripe_secret_key": _("A Stripe secret or restricted key (sk_… or rk_…).")}
            )
        secret = self.stripe_webhook_secret
        if secret and not secret.startswith("whsec_"):
            raise ValidationError(
                {"stripe_webhook_secret": _("A Stripe webhook signing secret (whsec_…).")}
            )
        if self.stripe_enabled and not key:
            raise ValidationError(
                {"stripe_secret_key": _("Applying outcomes in Stripe needs the secret key.")}
            )

    @property
    def stripe_key_hint(self) -> str:
        """The key as it may be shown: its kind and last four characters."""
        key = self.stripe_secret_key
        if not key:
            return ""
        kind = key[: key.find("_", 3) + 1] if key.count("_") >= 2 else key[:3]
        return f"{kind}…{key[-4:]}"


class BrandLogo(models.Model):
    """A workspace's logo as served: checked and encoded again by Pillow
    (workspaces.brand.logo_process), PNG, JPEG or WebP, at most 200 KB."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, primary_key=True, related_name="brand_logo"
    )
    key = models.CharField(max_length=40)
    content = models.BinaryField()
    content_type = models.CharField(max_length=20)
    width = models.PositiveSmallIntegerField()
    height = models.PositiveSmallIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.workspace_id}: {self.key}"


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    ANALYST = "analyst", _("Analyst")
    SUPPORT = "support", _("Support")


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.ANALYST)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"


class ApiKey(models.Model):
    """A server credential. Only its SHA-256 is stored; the key is shown once."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The visible start of the key.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

"""Who may open what: every admin model and every app page, for each role, in the
member's own workspace and in another one.

The admin models come from ``admin.site._registry``: a newly registered model is
in the matrix at once and fails until its expectation (``ADMIN_MODELS``) and how
to make one of its rows (``MAKERS``) are written down here.

Expected outcomes: ``200``; ``"login"`` (302 to a sign-in page); ``403``;
``404``; ``"missing"`` (the admin's 302 to its index for a row it will not
show); ``"inbox"`` (support's dashboard sends it to the inbox).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert, Channel, RoutingRule, Team, WebhookEndpoint
from offers.models import Experiment, Offer, OfferRule
from offers.services import experiment_create, offer_rule_create
from outbound.models import Delivery
from privacy.models import ErasedBy, ErasureRecord
from surveys.models import (
    CancelSession,
    Category,
    CategoryRule,
    ClassifierModel,
    Competitor,
    Response,
    Survey,
)
from surveys.services import session_answer, session_cancel
from tests.alerts.conftest import make_rule, make_team
from tests.factories import UserFactory, make_offer, make_session
from workspaces.models import ApiKey, Membership, Role, Workspace
from workspaces.services import api_key_issue, membership_set_role, user_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quick_passwords(settings: Any) -> None:
    """Hundreds of users are made here; the real hasher would take minutes."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


ROLES = ["admin", "analyst", "support", "nonmember", "anonymous", "superuser"]
OTHER_NAME = "Globex"
OTHER_MEMBER = "globex-insider"


class World:
    """Two workspaces, the user under test, and rows made on demand."""

    def __init__(self, role: str, capture: Any, *, analyst_elsewhere: bool = False) -> None:
        self._alerts: dict[int, Alert] = {}
        self.own = Workspace.objects.get(slug="acme")
        self.other = Workspace.objects.get(slug="globex")
        self.capture = capture
        insider = UserFactory(username=OTHER_MEMBER)
        membership_set_role(workspace=self.other, user=insider, role=Role.ADMIN)
        self.client = Client()
        self.user: User | None = None
        if role == "anonymous":
            return
        if role == "superuser":
            self.user = UserFactory(is_superuser=True, is_staff=True)
        else:
            # The way the product makes members (user_create used to make everyone staff).
            self.user = user_create(username=f"matrix-{role}", password="a-long-passphrase")
        if role in Role.values:
            membership_set_role(workspace=self.own, user=self.user, role=role)
            if analyst_elsewhere:
                membership_set_role(workspace=self.other, user=self.user, role=Role.ANALYST)
        self.client.force_login(self.user)

    def alert(self, workspace: Workspace) -> Alert:
        if workspace.pk not in self._alerts:
            team = make_team(workspace, "Success", email=f"success@{workspace.slug}.example")
            make_rule(workspace, team)
            session = make_session(workspace, mrr_cents=29900)
            with self.capture(execute=True):
                session_answer(token=session.token, reason_code="switching", text="Moving")
                session_cancel(token=session.token)
            self._alerts[workspace.pk] = Alert.objects.get(workspace=workspace)
        return self._alerts[workspace.pk]

    def response(self, workspace: Workspace) -> Response:
        session = make_session(workspace)
        session_answer(token=session.token, reason_code="too_expensive", text="Too dear")
        return Response.objects.get(session=session)

    def experiment(self, workspace: Workspace) -> Experiment:
        offer = make_offer(workspace, name="20% off", terms={"percent": 20, "months": 3})
        return experiment_create(
            workspace=workspace, name="Depth", variants=[("20%", offer, 1), ("Control", None, 1)]
        )


def _member(world: World, workspace: Workspace) -> Membership:
    user = UserFactory(username=f"{workspace.slug}-member-{User.objects.count()}")
    return membership_set_role(workspace=workspace, user=user, role=Role.SUPPORT)


def _category(world: World, workspace: Workspace) -> Category:
    # Shared by every workspace: "own" and "other" are simply two rows.
    return Category.objects.order_by("pk")[0 if workspace == world.own else 1]


MAKERS: dict[type[Model], Callable[[World, Workspace], Model]] = {
    Group: lambda w, ws: Group.objects.create(name=f"group {ws.slug}"),
    User: lambda w, ws: UserFactory(username=f"{ws.slug}-someone"),
    Workspace: lambda w, ws: ws,
    ApiKey: lambda w, ws: api_key_issue(workspace=ws, name="matrix").api_key,
    Membership: _member,
    Category: _category,
    Survey: lambda w, ws: Survey.objects.filter(workspace=ws).first(),  # type: ignore[return-value,misc]
    CancelSession: lambda w, ws: make_session(ws),
    CategoryRule: lambda w, ws: CategoryRule.objects.create(
        workspace=ws, phrase="invoic*", category_id="price"
    ),
    Competitor: lambda w, ws: Competitor.objects.create(workspace=ws, name="Initech"),
    ClassifierModel: lambda w, ws: ClassifierModel.objects.create(
        workspace=ws, version=1, trained_at=timezone.now(), examples=1, labels_seen=1, parameters={}
    ),
    Offer: lambda w, ws: make_offer(ws),
    OfferRule: lambda w, ws: offer_rule_create(workspace=ws, name="price", offer=make_offer(ws)),
    Experiment: lambda w, ws: w.experiment(ws),
    Team: lambda w, ws: make_team(ws),
    Channel: lambda w, ws: Channel.objects.create(
        team=make_team(ws), kind="email", target=f"team@{ws.slug}.example"
    ),
    RoutingRule: lambda w, ws: make_rule(ws, make_team(ws)),
    WebhookEndpoint: lambda w, ws: WebhookEndpoint.objects.create(
        workspace=ws, url=f"https://{ws.slug}.example/hook"
    ),
    Alert: lambda w, ws: w.alert(ws),
    Delivery: lambda w, ws: Delivery.objects.get(route__alert=w.alert(ws)),
    ErasureRecord: lambda w, ws: ErasureRecord.objects.create(
        workspace=ws,
        erased_by=ErasedBy.COMMAND,
        actor="customer_erase",
        pseudonym=f"erased_{ws.slug}",
        created_at=timezone.now(),
    ),
}


@dataclass(frozen=True)
class Expect:
    """``scoped``: a workspace's admins (and superusers) manage its rows, nobody
    else reaches them. ``superuser``: only superusers (data every workspace shares,
    and the accounts themselves). ``add``: whether an admin may add one;
    ``superuser_add``: whether a superuser may."""

    kind: str
    add: bool
    superuser_add: bool | None = None


ADMIN_MODELS: dict[type[Model], Expect] = {
    Group: Expect("superuser", add=False, superuser_add=True),
    User: Expect("superuser", add=False, superuser_add=True),
    Category: Expect("superuser", add=False, superuser_add=False),
    Workspace: Expect("scoped", add=False, superuser_add=True),
    ApiKey: Expect("scoped", add=True),
    Membership: Expect("scoped", add=True),
    Survey: Expect("scoped", add=True),
    CancelSession: Expect("scoped", add=False),
    CategoryRule: Expect("scoped", add=True),
    Competitor: Expect("scoped", add=True),
    ClassifierModel: Expect("scoped", add=False),
    Offer: Expect("scoped", add=True),
    OfferRule: Expect("scoped", add=True),
    Experiment: Expect("scoped", add=True),
    Team: Expect("scoped", add=True),
    Channel: Expect("scoped", add=True),
    RoutingRule: Expect("scoped", add=True),
    WebhookEndpoint: Expect("scoped", add=True),
    Alert: Expect("scoped", add=False),
    Delivery: Expect("scoped", add=False),
    ErasureRecord: Expect("scoped", add=False),
}

ADMIN_VIEWS = ["changelist", "add", "change own", "change other"]


def expected_admin(expect: Expect, view: str, role: str) -> int | str:
    if role in ("anonymous", "nonmember", "analyst", "support"):
        return "login"
    if role == "superuser":
        superuser_add = expect.add if expect.superuser_add is None else expect.superuser_add
        return 200 if view != "add" or superuser_add else 403
    if expect.kind == "superuser":
        return 403
    return {
        "changelist": 200,
        "add": 200 if expect.add else 403,
        "change own": 200,
        "change other": "missing",
    }[view]


def _label(model: type[Model]) -> str:
    return f"{model._meta.app_label}.{model.__name__}"


REGISTERED = sorted(admin.site._registry, key=_label)


def test_every_registered_admin_model_has_a_stated_expectation() -> None:
    missing = [_label(m) for m in REGISTERED if m not in ADMIN_MODELS or m not in MAKERS]
    assert not missing, f"State who may open these in ADMIN_MODELS and MAKERS: {missing}"


def check(response: Any, expected: int | str, *, login: str) -> None:
    where = response.get("Location", "")
    if expected == "login":
        assert (response.status_code, where.split("?")[0]) == (302, login)
    elif expected == "missing":
        assert (response.status_code, where) == (302, reverse("admin:index"))
    elif expected == "inbox":
        assert response.status_code == 302 and where.endswith("/inbox/")
    else:
        assert response.status_code == expected, where


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("view", ADMIN_VIEWS)
@pytest.mark.parametrize("model", REGISTERED, ids=_label)
def test_admin_matrix(
    model: type[Model],
    view: str,
    role: str,
    workspace: Workspace,
    other_workspace: Workspace,
    django_capture_on_commit_callbacks: Any,
) -> None:
    expect = ADMIN_MODELS.get(model)
    assert expect is not None and model in MAKERS, f"state the expectation for {_label(model)}"
    # The admin here is an analyst of the other workspace: that grants nothing there.
    world = World(role, django_capture_on_commit_callbacks, analyst_elsewhere=role == "admin")
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    own = other = None
    if view in ("changelist", "change own"):
        own = MAKERS[model](world, world.own)
    if view in ("changelist", "change other"):
        other = MAKERS[model](world, world.other)
    url = {
        "changelist": lambda: reverse(f"{name}_changelist"),
        "add": lambda: reverse(f"{name}_add"),
        "change own": lambda: reverse(f"{name}_change", args=[own.pk]),  # type: ignore[union-attr]
        "change other": lambda: reverse(f"{name}_change", args=[other.pk]),  # type: ignore[union-attr]
    }[view]()

    response = world.client.get(url)

    expected = expected_admin(expect, view, role)
    check(response, expected, login=reverse("admin:login"))
    if role == "admin" and expected == 200:
        page = response.content.decode()
        # No other workspace's name or member, in rows, choices or list filters.
        assert OTHER_NAME not in page and OTHER_MEMBER not in page
        if view == "changelist":
            assert own is not None and other is not None
            assert reverse(f"{name}_change", args=[own.pk]) in page
            assert reverse(f"{name}_change", args=[other.pk]) not in page


# --- the app pages ----------------------------------------------------------------

READ = {"admin": 200, "analyst": 200, "support": 403}
WORK = {"admin": 200, "analyst": 403, "support": 200}


@dataclass(frozen=True)
class Page:
    path: Callable[[World, Workspace], str]
    expected: dict[str, int | str]
    data: Callable[[World, Workspace], dict[str, Any]] | None = None  # POST when given


PAGES: dict[str, Page] = {
    "dashboard": Page(
        lambda w, ws: f"/app/{ws.slug}/", {"admin": 200, "analyst": 200, "support": "inbox"}
    ),
    "connect": Page(
        lambda w, ws: f"/app/{ws.slug}/connect/", {"admin": 200, "analyst": 200, "support": 200}
    ),
    "words": Page(lambda w, ws: f"/app/{ws.slug}/words/", READ),
    "relabel": Page(
        lambda w, ws: f"/app/{ws.slug}/words/{w.response(ws).pk}/category",
        {"admin": 302, "analyst": 302, "support": 403},
        data=lambda w, ws: {"category": "competitor"},
    ),
    "export sessions": Page(lambda w, ws: f"/app/{ws.slug}/export/sessions.csv", READ),
    "export figures": Page(lambda w, ws: f"/app/{ws.slug}/export/figures.csv", READ),
    "experiments": Page(lambda w, ws: f"/app/{ws.slug}/experiments/", READ),
    "experiment": Page(lambda w, ws: f"/app/{ws.slug}/experiments/{w.experiment(ws).pk}/", READ),
    "experiment stop": Page(
        lambda w, ws: f"/app/{ws.slug}/experiments/{w.experiment(ws).pk}/",
        {"admin": 302, "analyst": 403, "support": 403},
        data=lambda w, ws: {"winner": str(w.experiment(ws).variants.first().pk)},  # type: ignore[union-attr]
    ),
    "inbox": Page(lambda w, ws: f"/app/{ws.slug}/inbox/", WORK),
    "alert": Page(lambda w, ws: f"/app/{ws.slug}/inbox/{w.alert(ws).pk}/", WORK),
    "alert update": Page(
        lambda w, ws: f"/app/{ws.slug}/inbox/{w.alert(ws).pk}/",
        {"admin": 302, "analyst": 403, "support": 302},
        data=lambda w, ws: {"status": "contacted"},
    ),
}


def expected_page(page: Page, role: str, where: str) -> int | str:
    if role == "anonymous":
        return "login"
    if role == "superuser":
        return page.expected["admin"]
    if role == "nonmember" or where == "other":
        return 404
    return page.expected[role]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("name", list(PAGES))
def test_app_page_matrix(
    name: str,
    where: str,
    role: str,
    workspace: Workspace,
    other_workspace: Workspace,
    django_capture_on_commit_callbacks: Any,
) -> None:
    page = PAGES[name]
    world = World(role, django_capture_on_commit_callbacks)
    ws = world.own if where == "own" else world.other
    path = page.path(world, ws)
    if page.data is None:
        response = world.client.get(path)
    else:
        response = world.client.post(path, page.data(world, ws))
    check(response, expected_page(page, role, where), login=reverse("login"))

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo data (``manage.py seed_demo``): a workspace, offers, routing and a
    history of sessions. It needs every app, so it stands above them all."""

    name = "demo"
    verbose_name = "Demo data"

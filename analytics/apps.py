from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        # Registers the digest's email with the delivery transports.
        from analytics import transports  # noqa: F401
        from analytics.subscribers import register

        register()

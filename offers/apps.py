from django.apps import AppConfig


class OffersConfig(AppConfig):
    name = "offers"
    verbose_name = "Save offers"

    def ready(self) -> None:
        # Registers the customer confirmation email with the delivery transports.
        from offers import confirmation  # noqa: F401

from django.apps import AppConfig


class OffersConfig(AppConfig):
    name = "offers"
    verbose_name = "Save offers"

    def ready(self) -> None:
        # Registers the customer confirmation email and the Stripe adapter with the
        # delivery transports.
        from offers import confirmation, stripe_billing  # noqa: F401

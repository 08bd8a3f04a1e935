from django.apps import AppConfig


class OffersConfig(AppConfig):
    name = "offers"
    verbose_name = "Save offers"

    def ready(self) -> None:
        # Registers the customer confirmation email and the Stripe adapter with the
        # delivery transports.
        from offers import confirmation, stripe_billing  # noqa: F401
        from offers.presentation import accepted_text, offer_view
        from offers.subscribers import register
        from surveys.presenters import OfferPresenter, offer_presenter_register

        # The customer's pages (surveys) show offers through this presenter.
        offer_presenter_register(OfferPresenter(offer_view=offer_view, accepted_text=accepted_text))
        register()

from django.apps import AppConfig


class OutboundConfig(AppConfig):
    name = "outbound"
    verbose_name = "Outbound deliveries"

    def ready(self) -> None:
        from outbound import ops

        # /readyz's outbox and dead-deliveries checks, /metrics' outbound gauges.
        ops.register()

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts and webhooks"

    def ready(self) -> None:
        from django.db.models.signals import pre_delete

        from alerts import transports
        from alerts.models import EventType
        from alerts.selectors import alert_counts, digest_audience
        from alerts.subscribers import register, session_events_delete
        from alerts.tasks import outbox_dispatch
        from config.panels import DashboardPanel, dashboard_panel_register
        from outbound.registry import audience_register, expander_register
        from surveys.models import CancelSession

        register()
        # What alerts hands the outbound machinery: its transports, the expander
        # of outcome events, and the weekly digest's audience (the email channels
        # of the teams that receive it; analytics' digest asks for it by name).
        transports.register()
        expander_register(EventType.values, outbox_dispatch)
        audience_register("digest", digest_audience)
        # A session deleted takes its outcome events (no foreign key holds them).
        pre_delete.connect(
            session_events_delete, sender=CancelSession, dispatch_uid="alerts.session_events"
        )
        dashboard_panel_register(
            DashboardPanel(
                name="alerts",
                template="alerts/_dashboard_panel.html",
                context=lambda workspace, since, until: {
                    "alerts": alert_counts(workspace=workspace, since=since, until=until)
                },
            )
        )

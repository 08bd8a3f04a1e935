from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "Surveys and cancel sessions"

    def ready(self) -> None:
        from surveys.subscribers import register

        register()

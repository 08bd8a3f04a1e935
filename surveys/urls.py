from django.urls import path

from surveys import views

urlpatterns = [
    path("c/<str:token>/", views.survey_page, name="flow-survey"),
    path("c/<str:token>/offer/", views.offer_page, name="flow-offer"),
    path("c/<str:token>/accept/", views.accept_action, name="flow-accept"),
    path("c/<str:token>/cancel/", views.cancel_action, name="flow-cancel"),
    path("c/<str:token>/keep/", views.keep_action, name="flow-keep"),
    path("c/<str:token>/language/", views.language_action, name="flow-language"),
    path("c/<str:token>/done/", views.done_page, name="flow-done"),
    path("widget/v1.js", views.widget_script, name="widget-script"),
    path("demo/", views.demo_host, name="demo-host"),
    path("demo/identity", views.demo_identity, name="demo-identity"),
]

from django.contrib import admin

from offers.models import Offer
from workspaces.admin import ConfigChangeAdmin


@admin.register(Offer)
class OfferAdmin(ConfigChangeAdmin):
    list_display = ["name", "workspace", "kind", "priority", "is_active"]
    list_filter = ["workspace", "kind", "is_active"]
    filter_horizontal = ["categories"]

"""What a long-running web process does once, after Django has loaded.

``heap_settle`` imports the URLconf (and with it every view, serializer and
template tag the views import) and moves everything loaded so far into the
garbage collector's permanent generation (``gc.freeze``). Without it, every full
collection, which a request that builds a few thousand objects (a day-by-day
trend over six months, say) sets off now and then, walks the hundred thousand
objects of Django and the project first: seen as 60 to 130 ms added to one call
in twenty (``bench/analytics.py``). Those objects live as long as the process, so
nothing is lost by not collecting them; a worker forked from the process also
shares their memory pages for longer, since collecting no longer writes to them.
"""

from __future__ import annotations

import gc


def heap_settle() -> int:
    """Load the views, collect once, freeze what remains; returns how many objects
    were frozen."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every view module
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()

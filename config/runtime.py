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

It also collects the youngest generation less often (``GC_THRESHOLDS``): a flow
request makes a few thousand short-lived objects, nearly all freed by reference
counting, yet at Python's default (a collection every 700 allocations) it paid
for several collections each. Measured in one process, alternating (an answer
through the test client, 250 at a time, 4 rounds): 1,686 -> 1,629 us of CPU per
answer, the bare-transaction floor unchanged (968 -> 975 us).
"""

from __future__ import annotations

import gc

# (youngest, middle, oldest): collect the youngest generation every 50,000 net
# allocations of containers instead of 700; the older ones at the same ratios.
GC_THRESHOLDS = (50_000, 10, 10)


def heap_settle() -> int:
    """Load the views, collect once, freeze what remains; returns how many objects
    were frozen."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every view module
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return gc.get_freeze_count()

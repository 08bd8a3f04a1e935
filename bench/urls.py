"""The product's URLs plus two references for bench/flow.py, both bare Django
views on the same server and middleware as the product:

- ``/bench/floor``: one indexed query, the least any endpoint on this stack costs;
- ``/bench/write-floor/<token>``: the least a flow *transition* can cost as
  DESIGN.md shapes it (lock the session, change it, count it in a sharded rollup
  row, write an outbox row, all in one transaction), in raw SQL on tables of its
  own (``bench_wf_*``, made by ``bench/flow.py``), with no ORM, DRF or business
  rules. The gap between a flow endpoint and this is what our code adds.
"""

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as product_urls
from workspaces.models import Workspace


def floor(request: HttpRequest) -> JsonResponse:
    found = Workspace.objects.filter(slug=request.GET.get("slug", "bench")).values_list(
        "pk", flat=True
    )
    return JsonResponse({"id": found.first()})


@csrf_exempt
def write_floor(request: HttpRequest, token: str) -> JsonResponse:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT id FROM bench_wf_session WHERE token = %s FOR UPDATE", [token])
        row = cursor.fetchone()
        if row is None:
            return JsonResponse({"error": "not found"}, status=404)
        cursor.execute(
            "UPDATE bench_wf_session SET status = 'completed', changed_at = now() WHERE id = %s",
            [row[0]],
        )
        cursor.execute(
            "INSERT INTO bench_wf_rollup (day, outcome, shard, sessions) "
            "VALUES (current_date, 'cancelled', %s, 1) ON CONFLICT (day, outcome, shard) "
            "DO UPDATE SET sessions = bench_wf_rollup.sessions + 1",
            [row[0] % 8],
        )
        cursor.execute(
            "INSERT INTO bench_wf_outbox (session_id, created_at) VALUES (%s, now())", [row[0]]
        )
    return JsonResponse({"id": row[0], "status": "completed"})


urlpatterns = [
    path("bench/floor", floor),
    path("bench/write-floor/<str:token>", write_floor),
    *product_urls,
]

"""A local stand-in for Stripe's API on loopback: stripe-python is pointed at it
(STRIPE_API_BASE). It records every call (method, path, form fields, headers)
and answers with Stripe-shaped JSON, or with the errors a test scripts."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.receivers import LoopbackServer


@dataclass
class StripeCall:
    method: str
    path: str
    form: dict[str, str]
    headers: dict[str, str]

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("Idempotency-Key")


@dataclass
class FakeStripe(LoopbackServer):
    """``FakeStripe.start()``; ``fail(500)`` makes the next call answer 500,
    ``fail(500, on="GET /v1/subscriptions")`` the next such call."""

    calls: list[StripeCall] = field(default_factory=list)
    # (status, error object, the calls it is for: "" any, else "METHOD /path"
    # prefix) answered to the next calls, in order.
    failures: list[tuple[int, dict[str, Any], str]] = field(default_factory=list)
    # The subscription items GET /v1/subscriptions/{id} answers with.
    items: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {
                "id": "si_pro",
                "object": "subscription_item",
                "price": {"id": "price_pro", "object": "price", "product": "prod_app"},
            }
        ]
    )
    # The product of each price GET /v1/prices/{id} knows (others: 404).
    products: dict[str, str] = field(
        default_factory=lambda: {
            "price_pro": "prod_app",
            "price_starter": "prod_app",
            "price_seats": "prod_seats",
        }
    )

    # The subscription's discounts, as GET /v1/subscriptions/{id} answers them
    # expanded (with ``expand[]=discounts``): ``{"id": "di_…", "coupon": "…"}``.
    discounts: list[dict[str, str]] = field(default_factory=list)

    def fail(
        self,
        status: int,
        message: str = "Something went wrong on Stripe's end.",
        *,
        type: str = "api_error",
        code: str = "",
        on: str = "",
    ) -> None:
        error = {"type": type, "message": message}
        if code:
            error["code"] = code
        self.failures.append((status, error, on))

    def answer(self, call: StripeCall) -> tuple[int, dict[str, Any]]:
        request = f"{call.method} {call.path}"
        for n, (status, error, on) in enumerate(self.failures):
            if request.startswith(on):
                del self.failures[n]
                return status, {"error": error}
        parts = call.path.strip("/").split("/")
        if call.path == "/v1/coupons":
            return 200, {
                "id": call.form.get("id", "co_generated"),
                "object": "coupon",
                "valid": True,
            }
        if parts[:2] == ["v1", "subscriptions"] and len(parts) == 3:
            subscription: dict[str, Any] = {
                "id": parts[2],
                "object": "subscription",
                "status": "active",
            }
            if call.method == "GET":
                subscription["items"] = {"object": "list", "data": self.items}
                expanded = "discounts" in call.form.values()  # expand[0]=discounts
                subscription["discounts"] = [
                    {
                        "id": d["id"],
                        "object": "discount",
                        "source": {"type": "coupon", "coupon": d["coupon"]},
                    }
                    if expanded
                    else d["id"]
                    for d in self.discounts
                ]
            return 200, subscription
        if parts[:2] == ["v1", "prices"] and len(parts) == 3 and call.method == "GET":
            if parts[2] not in self.products:
                return 404, {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "resource_missing",
                        "message": f"No such price: '{parts[2]}'",
                    }
                }
            return 200, {"id": parts[2], "object": "price", "product": self.products[parts[2]]}
        return 404, {"error": {"type": "invalid_request_error", "message": "Unrecognized URL"}}

    @classmethod
    def start(cls) -> FakeStripe:
        fake = cls()
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else parts.query
                call = StripeCall(
                    method=self.command,
                    path=parts.path,
                    form=dict(parse_qsl(body, keep_blank_values=True)),
                    headers=dict(self.headers.items()),
                )
                with lock:
                    fake.calls.append(call)
                    status, payload = fake.answer(call)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Request-Id", f"req_{len(fake.calls)}")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        fake.serve(Handler)
        return fake

    def requests(self) -> list[tuple[str, str]]:
        return [(call.method, call.path) for call in self.calls]

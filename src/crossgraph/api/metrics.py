"""Prometheus metrics of one app instance (own registry, so several apps can live in one process).

With several uvicorn workers each process reports its own series; scrape each worker or run
one worker per container (the usual layout behind a load balancer).
"""

from __future__ import annotations

from time import perf_counter
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "crossgraph_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route", "status"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "crossgraph_request_errors_total",
            "Responses with status >= 400 by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.model_info = Gauge(
            "crossgraph_model_info", "The served model version (value 1)", ["version"], registry=self.registry
        )
        self.reloads = Counter(
            "crossgraph_model_reloads_total", "Model reloads by outcome", ["outcome"], registry=self.registry
        )
        self.graph_up = Gauge("crossgraph_graph_up", "1 when Neo4j answers", registry=self.registry)
        self.degraded = Counter(
            "crossgraph_partial_responses_total",
            "Responses answered without Neo4j (partial evidence)",
            ["route"],
            registry=self.registry,
        )

    def set_model(self, version: str) -> None:
        self.model_info.clear()
        self.model_info.labels(version=version).set(1)


class MetricsMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware overhead): time every request, label it by route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.latency.labels(scope["method"], template, str(status)).observe(
                perf_counter() - start
            )
            if status >= 400:
                self.metrics.errors.labels(template, str(status)).inc()

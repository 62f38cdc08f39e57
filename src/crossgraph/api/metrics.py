"""Prometheus metrics of one app instance (own registry, so several apps can live in one process).

With several uvicorn workers (`crossgraph serve --workers N`) the workers share their series
through prometheus_client's multiprocess mode: `serve` points PROMETHEUS_MULTIPROC_DIR at a
fresh folder before the workers start, each worker writes its values there, and whichever
worker answers `/metrics` reports the sum over all of them (the model version per worker,
labelled with its pid). One scrape target, whole-service figures.
"""

from __future__ import annotations

import os
from time import perf_counter
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        self._version: str | None = None
        self._memory_labels: set[tuple[str, str]] = set()
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
            "crossgraph_model_info",
            "The served model version (value 1; per worker pid with several workers)",
            ["version"],
            registry=self.registry,
            multiprocess_mode="liveall",
        )
        self.model_bytes = Gauge(
            "crossgraph_model_memory_bytes",
            "Bytes of each loaded model's arrays and id tables (memory-mapped or resident), by "
            "version and role: current, or arm (an experiment's model loaded next to it); per worker",
            ["version", "role"],
            registry=self.registry,
            multiprocess_mode="liveall",
        )
        self.reloads = Counter(
            "crossgraph_model_reloads_total", "Model reloads by outcome", ["outcome"], registry=self.registry
        )
        self.graph_up = Gauge(
            "crossgraph_graph_up",
            "1 when Neo4j answers (with several workers: when it answers every one)",
            registry=self.registry,
            multiprocess_mode="livemin",
        )
        self.degraded = Counter(
            "crossgraph_partial_responses_total",
            "Responses answered without Neo4j (partial evidence)",
            ["route"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "crossgraph_rate_limited_total",
            "Requests refused with 429 because the key was over its rate limit, by key name",
            ["key"],
            registry=self.registry,
        )

    @staticmethod
    def shared() -> bool:
        """Several worker processes share their values (PROMETHEUS_MULTIPROC_DIR is set)."""
        return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

    def set_model(self, version: str) -> None:
        if self._version is not None:
            self.model_info.labels(version=self._version).set(0)  # a shared file keeps it otherwise
        self.model_info.clear()
        self.model_info.labels(version=version).set(1)
        self._version = version

    def set_memory(self, models: dict[tuple[str, str], int]) -> None:
        """The models this worker holds now; models dropped since leave the figures."""
        for labels in self._memory_labels - models.keys():
            self.model_bytes.labels(*labels).set(0)  # a shared file keeps it otherwise
            self.model_bytes.remove(*labels)
        for (version, role), size in models.items():
            self.model_bytes.labels(version=version, role=role).set(size)
        self._memory_labels = set(models)

    def exposition(self) -> bytes:
        """The text a scrape gets: this app's series, or with several workers all workers'."""
        if not self.shared():
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return generate_latest(merged)

    def close(self) -> None:
        """At worker shutdown: its live gauges leave the shared figures."""
        if self.shared():
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


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

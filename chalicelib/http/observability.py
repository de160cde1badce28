"""Powertools Logger, Tracer and Metrics: one instance each per process.

The service name and namespace are ``get_settings().observability`` (POWERTOOLS_SERVICE_NAME,
POWERTOOLS_METRICS_NAMESPACE, set by the stage config). Request bodies and headers are never
logged (no tokens in logs).
"""

from __future__ import annotations

from typing import Any

from chalicelib.config import get_settings
from chalicelib.shared.caches import process_cache


# Powertools is imported when each object is first built (deferred: benchmarks/cold_start.py).
@process_cache
def logger() -> Any:
    from aws_lambda_powertools import Logger  # deferred: see above

    return Logger(service=get_settings().observability.service_name)


@process_cache
def tracer() -> Any:
    from aws_lambda_powertools import Tracer  # deferred: see above

    return Tracer(service=get_settings().observability.service_name)


@process_cache
def metrics() -> Any:
    from aws_lambda_powertools import Metrics  # deferred: see above

    names = get_settings().observability
    return Metrics(namespace=names.metrics_namespace, service=names.service_name)


def count(name: str, value: float = 1) -> None:
    from aws_lambda_powertools.metrics import MetricUnit  # deferred: see above

    metrics().add_metric(name=name, unit=MetricUnit.Count, value=value)


class _LazyLogger:
    """Stands in for the Logger until first use, so importing the app does not build it."""

    def __getattr__(self, name: str) -> Any:
        return getattr(logger(), name)


lazy_logger: Any = _LazyLogger()


def with_logger_context(handler: Any) -> Any:
    """Handler decorator: Powertools Logger context (cold start, request id as correlation id)."""
    return logger().inject_lambda_context(correlation_id_path="requestContext.requestId")(handler)


def with_tracing(handler: Any) -> Any:
    """Handler decorator: X-Ray segment per invocation; the SDK loads on the first request."""
    if not get_settings().observability.tracing_enabled:
        return handler
    return tracer().capture_lambda_handler(handler)


def with_metrics(handler: Any) -> Any:
    """Handler decorator: count the request, flush the invocation's metrics as one EMF line."""

    def counted(event: Any, context: Any) -> Any:
        count("ApiRequests")
        return handler(event, context)

    return metrics().log_metrics(counted)

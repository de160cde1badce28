"""Powertools Logger, Tracer and Metrics: one instance each per process.

The service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE
(set by the stage config). Request bodies and headers are never logged (no tokens in logs).
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def logger() -> Any:
    from aws_lambda_powertools import Logger

    return Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "aion"))


@lru_cache(maxsize=1)
def tracer() -> Any:
    from aws_lambda_powertools import Tracer

    return Tracer(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "aion"))


@lru_cache(maxsize=1)
def metrics() -> Any:
    from aws_lambda_powertools import Metrics

    return Metrics(
        namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Aion"),
        service=os.environ.get("POWERTOOLS_SERVICE_NAME", "aion"),
    )


def count(name: str, value: float = 1) -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    metrics().add_metric(name=name, unit=MetricUnit.Count, value=value)


class _LazyLogger:
    """Stands in for the Logger until first use, so importing the app does not build it."""

    def __getattr__(self, name: str) -> Any:
        return getattr(logger(), name)


lazy_logger: Any = _LazyLogger()


def with_logger_context(handler: Any) -> Any:
    """Handler decorator: Powertools Logger context (cold start, request id as correlation id)."""
    return logger().inject_lambda_context(correlation_id_path="requestContext.requestId")(handler)


def tracing_enabled() -> bool:
    """Powertools' own rule: tracing only inside Lambda and unless POWERTOOLS_TRACE_DISABLED.
    Checked here too so the dev stack and tests never load the X-Ray SDK at all."""
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in ("1", "true")
    return not disabled and bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def with_tracing(handler: Any) -> Any:
    """Handler decorator: X-Ray segment per invocation; the SDK loads on the first request."""
    if not tracing_enabled():
        return handler
    return tracer().capture_lambda_handler(handler)


def with_metrics(handler: Any) -> Any:
    """Handler decorator: count the request, flush the invocation's metrics as one EMF line."""

    def counted(event: Any, context: Any) -> Any:
        count("ApiRequests")
        return handler(event, context)

    return metrics().log_metrics(counted)

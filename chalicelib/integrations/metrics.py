"""Operational metrics as CloudWatch embedded metric format (EMF) lines on stdout: Lambda's
log agent turns them into metrics, so there is no PutMetricData call and no extra permission.
The alarms in infra/template.json watch them."""

from __future__ import annotations

from chalicelib.config import Settings

NAMESPACE = "motcua"
OVERDUE_TASKS = "OverdueTasks"


def count(settings: Settings, name: str, value: int = 1) -> None:
    """Emits one count now, with the province as its dimension (one alarm per province stack)."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=NAMESPACE,
                       default_dimensions={"Province": settings.province}):
        pass

"""Typed settings: the only place that reads ``os.environ``.

Chalice sets a stage's environment variables only while a request is served
(``chalice.test.Client`` and ``chalice local`` alike), so settings are read
lazily and cached per environment snapshot rather than at import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

MEBIBYTE = 1024 * 1024

_KEYS = (
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "MOTCUA_PROVINCE",
    "MOTCUA_PROVINCE_NAME",
    "MOTCUA_TABLE_NAME",
    "MOTCUA_UPLOADS_BUCKET",
    "MOTCUA_DOCUMENTS_BUCKET",
    "MOTCUA_COGNITO_USER_POOL_ID",
    "MOTCUA_COGNITO_CLIENT_ID",
    "MOTCUA_COGNITO_ENDPOINT",
    "MOTCUA_MAX_UPLOAD_BYTES",
    "MOTCUA_MAX_BODY_BYTES",
    "MOTCUA_UPLOAD_URL_SECONDS",
    "MOTCUA_TEMPLATE_URL_SECONDS",
    "MOTCUA_PAGE_SIZE_MAX",
    "MOTCUA_RATE_SUBMISSIONS_PER_HOUR",
    "MOTCUA_RATE_PAYMENTS_PER_HOUR",
    "MOTCUA_STRIPE_PUBLISHABLE_KEY",
    "MOTCUA_STRIPE_API_BASE",
    "MOTCUA_STRIPE_JS_URL",
    "MOTCUA_STRIPE_SECRET_KEY",
    "MOTCUA_STRIPE_WEBHOOK_SECRET",
    "MOTCUA_STRIPE_SECRET_NAME",
    "MOTCUA_EXTRA_CALENDAR_FILE",
    "MOTCUA_ROUTE_STATE_MACHINE_ARN",
    "MOTCUA_TASK_QUEUE_URL",
    "MOTCUA_WEBHOOK_QUEUE_URL",
    "MOTCUA_SUPPLEMENT_WAIT_DAYS",
    "MOTCUA_WEBHOOK_DLQ_URL",
    "MOTCUA_WEBHOOK_RETRY_BASE_SECONDS",
    "MOTCUA_WEBHOOK_MAX_ATTEMPTS",
    "MOTCUA_NOTIFY_FROM_EMAIL",
    "MOTCUA_NOTIFY_SMS",
    "MOTCUA_PUBLIC_TRACK_URL",
    "MOTCUA_IDEMPOTENCY_EXPIRY_SECONDS",
    "MOTCUA_CATALOGUE_CACHE_SECONDS",
    "MOTCUA_STATS_CACHE_SECONDS",
)


class SettingsError(RuntimeError):
    """A deployment is misconfigured: fail loudly at the first request."""


@dataclass(frozen=True)
class Settings:
    region: str
    province: str
    province_name: str
    table_name: str
    uploads_bucket: str
    documents_bucket: str  # form templates and results
    cognito_user_pool_id: str
    cognito_client_id: str
    cognito_endpoint: str | None  # moto's Cognito locally; None means real AWS
    max_upload_bytes: int = 10 * MEBIBYTE
    max_body_bytes: int = 256 * 1024
    upload_url_seconds: int = 900
    template_url_seconds: int = 900
    page_size_max: int = 100
    # Per citizen, per hour (fixed windows): POST /dossiers and POST /dossiers/{code}/payment.
    rate_submissions_per_hour: int = 30
    rate_payments_per_hour: int = 60
    stripe_publishable_key: str = ""
    stripe_api_base: str | None = None
    stripe_js_url: str | None = None
    # Secrets (Secrets Manager / SSM in AWS, localstripe's test values locally); "" = payments off.
    stripe_secret_key: str = ""
    stripe_webhook_secret: str = ""
    # In AWS: the name or ARN of the Secrets Manager secret holding both (integrations/secrets.py).
    stripe_secret_name: str = ""
    extra_calendar_file: str | None = None
    route_state_machine_arn: str = ""
    task_queue_url: str = ""
    webhook_queue_url: str = ""
    # How long a dossier waits for the citizen's supplement before it is closed
    # (calendar days; the province sets it, 30 by default).
    supplement_wait_days: int = 30
    webhook_dlq_url: str = ""
    webhook_retry_base_seconds: float = 5.0
    webhook_max_attempts: int = 8
    # Citizen notifications: the SES sender ("" = no email), SMS through SNS on/off,
    # and the web front's tracker URL ("{code}" is replaced by the dossier code).
    notify_from_email: str = ""
    notify_sms: bool = False
    public_track_url: str = ""
    # How long a queue worker remembers a message it handled (Powertools Idempotency records in the
    # table): a redelivered copy within this time does nothing. The queues keep a message 14 days.
    idempotency_expiry_seconds: int = 14 * 24 * 3600
    # How long a container follows the catalogue pointer it read before reading it again: a load
    # or agency change made elsewhere shows within this time (0: read it on every request).
    catalogue_cache_seconds: float = 60.0
    # How long a container answers GET /stats from the rows it read (0: read them on every request);
    # its own writes make it read again at once.
    stats_cache_seconds: float = 60.0

    def __post_init__(self) -> None:
        for name in ("region", "province", "table_name", "uploads_bucket", "documents_bucket"):
            if not getattr(self, name):
                raise SettingsError(f"setting {name} is empty")
        for name in ("max_upload_bytes", "max_body_bytes", "upload_url_seconds",
                     "template_url_seconds", "page_size_max", "supplement_wait_days",
                     "webhook_retry_base_seconds", "webhook_max_attempts",
                     "idempotency_expiry_seconds"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"setting {name} must be positive")
        for name in ("catalogue_cache_seconds", "stats_cache_seconds"):
            if not 0 <= getattr(self, name) <= 3600:
                raise SettingsError(f"setting {name} must be between 0 and 3600")

    @property
    def supplement_wait_seconds(self) -> int:
        return self.supplement_wait_days * 24 * 3600

    @property
    def cognito_issuer(self) -> str:
        # moto signs tokens with the real AWS issuer, so this holds locally too.
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.cognito_user_pool_id}"

    @property
    def cognito_jwks_url(self) -> str:
        if self.cognito_endpoint:
            return f"{self.cognito_endpoint.rstrip('/')}/{self.cognito_user_pool_id}/.well-known/jwks.json"
        return f"{self.cognito_issuer}/.well-known/jwks.json"


_N = TypeVar("_N", int, float)


def _number(env: dict[str, str], key: str, default: _N, parse: type[_N]) -> _N:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        return parse(raw)
    except ValueError as exc:
        raise SettingsError(f"setting {key} must be {'an integer' if parse is int else 'a number'}, "
                            f"got {raw!r}") from exc


def _int(env: dict[str, str], key: str, default: int) -> int:
    return _number(env, key, default, int)


def _float(env: dict[str, str], key: str, default: float) -> float:
    return _number(env, key, default, float)


def _switch(env: dict[str, str], key: str, default: bool) -> bool:
    raw = env.get(key, "").strip().lower()
    if raw == "":
        return default
    if raw not in ("on", "off"):
        raise SettingsError(f"setting {key} must be 'on' or 'off', got {raw!r}")
    return raw == "on"


@lru_cache(maxsize=8)
def _settings_from(snapshot: tuple[tuple[str, str], ...]) -> Settings:
    env = dict(snapshot)
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "ap-southeast-1"
    return Settings(
        region=region,
        province=env.get("MOTCUA_PROVINCE", ""),
        province_name=env.get("MOTCUA_PROVINCE_NAME", ""),
        table_name=env.get("MOTCUA_TABLE_NAME", ""),
        uploads_bucket=env.get("MOTCUA_UPLOADS_BUCKET", ""),
        documents_bucket=env.get("MOTCUA_DOCUMENTS_BUCKET", ""),
        cognito_user_pool_id=env.get("MOTCUA_COGNITO_USER_POOL_ID", ""),
        cognito_client_id=env.get("MOTCUA_COGNITO_CLIENT_ID", ""),
        cognito_endpoint=env.get("MOTCUA_COGNITO_ENDPOINT") or None,
        max_upload_bytes=_int(env, "MOTCUA_MAX_UPLOAD_BYTES", 10 * MEBIBYTE),
        max_body_bytes=_int(env, "MOTCUA_MAX_BODY_BYTES", 256 * 1024),
        upload_url_seconds=_int(env, "MOTCUA_UPLOAD_URL_SECONDS", 900),
        template_url_seconds=_int(env, "MOTCUA_TEMPLATE_URL_SECONDS", 900),
        page_size_max=_int(env, "MOTCUA_PAGE_SIZE_MAX", 100),
        rate_submissions_per_hour=_int(env, "MOTCUA_RATE_SUBMISSIONS_PER_HOUR", 30),
        rate_payments_per_hour=_int(env, "MOTCUA_RATE_PAYMENTS_PER_HOUR", 60),
        stripe_publishable_key=env.get("MOTCUA_STRIPE_PUBLISHABLE_KEY", ""),
        stripe_api_base=env.get("MOTCUA_STRIPE_API_BASE") or None,
        stripe_js_url=env.get("MOTCUA_STRIPE_JS_URL") or None,
        stripe_secret_key=env.get("MOTCUA_STRIPE_SECRET_KEY", "").strip(),
        stripe_webhook_secret=env.get("MOTCUA_STRIPE_WEBHOOK_SECRET", "").strip(),
        stripe_secret_name=env.get("MOTCUA_STRIPE_SECRET_NAME", "").strip(),
        extra_calendar_file=env.get("MOTCUA_EXTRA_CALENDAR_FILE") or None,
        route_state_machine_arn=env.get("MOTCUA_ROUTE_STATE_MACHINE_ARN", ""),
        task_queue_url=env.get("MOTCUA_TASK_QUEUE_URL", ""),
        webhook_queue_url=env.get("MOTCUA_WEBHOOK_QUEUE_URL", ""),
        supplement_wait_days=_int(env, "MOTCUA_SUPPLEMENT_WAIT_DAYS", 30),
        webhook_dlq_url=env.get("MOTCUA_WEBHOOK_DLQ_URL", ""),
        webhook_retry_base_seconds=_float(env, "MOTCUA_WEBHOOK_RETRY_BASE_SECONDS", 5.0),
        webhook_max_attempts=_int(env, "MOTCUA_WEBHOOK_MAX_ATTEMPTS", 8),
        notify_from_email=env.get("MOTCUA_NOTIFY_FROM_EMAIL", "").strip(),
        notify_sms=_switch(env, "MOTCUA_NOTIFY_SMS", False),
        public_track_url=env.get("MOTCUA_PUBLIC_TRACK_URL", "").strip(),
        idempotency_expiry_seconds=_int(env, "MOTCUA_IDEMPOTENCY_EXPIRY_SECONDS", 14 * 24 * 3600),
        catalogue_cache_seconds=_float(env, "MOTCUA_CATALOGUE_CACHE_SECONDS", 60.0),
        stats_cache_seconds=_float(env, "MOTCUA_STATS_CACHE_SECONDS", 60.0),
    )


def _province_for_names() -> str:
    # Chalice sets the stage's variables before importing the app, so a province's stage
    # names its own queues; "lamdong" (the demo province) only when no stage says.
    return os.environ.get("MOTCUA_PROVINCE") or "lamdong"


def task_queue_name() -> str:
    """The route's task queue, which Chalice must know when it wires the SQS event source
    (import time, while packaging a province's stage): the template's ``motcua-<province>-tasks``."""
    return os.environ.get("MOTCUA_TASK_QUEUE_NAME") or f"motcua-{_province_for_names()}-tasks"


def webhook_queue_name() -> str:
    return os.environ.get("MOTCUA_WEBHOOK_QUEUE_NAME") or f"motcua-{_province_for_names()}-webhooks"


def upload_events_queue_name() -> str:
    """The queue the uploads bucket tells of arrived objects (the template's UploadEventsQueue)."""
    return os.environ.get("MOTCUA_UPLOAD_EVENTS_QUEUE_NAME") or f"motcua-{_province_for_names()}-upload-events"


def get_settings() -> Settings:
    snapshot = tuple((key, os.environ[key]) for key in _KEYS if key in os.environ)
    return _settings_from(snapshot)

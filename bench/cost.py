"""What 1 million dossiers cost on AWS, from what the calls part measured.

Inputs, all measured by ``bench/calls.py`` for the one-agency route: the AWS calls of each API
request and of each background message (task worker, webhook worker, the table stream's worker
with the citizen's e-mails and SMS and the uploads' tags, the state machine's own service
integrations), DynamoDB request units sized from the items the calls read and wrote,
state transitions, and each request's in-process duration. Lambda memory comes from the
province stage of ``.chalice/config.json``; prices from :data:`PRICES` (one region, with date and
source, and a flag where the regional figure could not be confirmed).

The journey (:data:`JOURNEY`) says how many API requests a typical citizen and agency make per
dossier; it is an assumption, stated here so that it can be argued with.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bench.common import CHALICE_CONFIG_PATH, PartResult, RunContext, Table

if TYPE_CHECKING:
    from bench.common import Call

TARGET_PER_MILLION = 300.0
# What the citizens are sent (the province chooses the channels; billed per message, not per
# request the system makes). The reference points cannot include them: its Step Functions
# floor ($173) is below what two e-mails per dossier cost alone ($200). So the target is checked
# against the platform (every other service); the messages are priced beside it, and in the total.
MESSAGE_SERVICES = ("SES email",)
# The reference points for 1 million dossiers.
NAIVE_DESIGNS_PER_MILLION = 1700.0
STEP_FUNCTIONS_FLOOR_PER_MILLION = 173.0
PROVINCE_STAGE = "lamdong"

# --- DynamoDB request units from item sizes ----------------------------------------------------


@dataclass(frozen=True)
class Units:
    rru: float = 0.0
    wru: float = 0.0

    def __add__(self, other: Units) -> Units:
        return Units(self.rru + other.rru, self.wru + other.wru)

    def __mul__(self, n: float) -> Units:
        return Units(self.rru * n, self.wru * n)


def number_size(text: str) -> int:
    """DynamoDB's size of a number: about one byte per two significant digits, plus one."""
    digits = text.lstrip("-").replace(".", "").lstrip("0").rstrip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB's JSON (``{"S": "…"}``), by DynamoDB's sizing rules."""
    ((kind, data),) = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "N":
        return number_size(str(data))
    if kind == "B":
        # The wire carries binary as base64 (moto's items too); the SDK's params as bytes.
        return len(data) if isinstance(data, bytes | bytearray) else len(str(data)) * 3 // 4
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(s).encode()) for s in data)
    if kind == "NS":
        return sum(number_size(str(n)) for n in data)
    if kind == "BS":
        return sum(len(b) if isinstance(b, bytes | bytearray) else len(str(b)) * 3 // 4 for b in data)
    if kind == "L":
        return 3 + sum(1 + value_size(item) for item in data)
    if kind == "M":
        return 3 + sum(len(name.encode()) + 1 + value_size(item) for name, item in data.items())
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def item_size(item: Mapping[str, Any] | None) -> int:
    """An item's size: attribute names plus values, as DynamoDB bills it."""
    return sum(len(name.encode()) + value_size(value) for name, value in (item or {}).items())


def read_units(size: int, *, consistent: bool, transactional: bool = False) -> float:
    """A read of ``size`` bytes: 1 RRU per 4 KB strongly consistent, half eventually, double in a
    transaction; a read that finds nothing still costs the minimum."""
    blocks = max(1, math.ceil(size / 4096))
    return blocks * (2.0 if transactional else 1.0 if consistent else 0.5)


def write_units(size: int, *, transactional: bool = False) -> float:
    """A write of an item of ``size`` bytes: 1 WRU per 1 KB, double in a transaction."""
    return max(1, math.ceil(size / 1024)) * (2.0 if transactional else 1.0)


def _gsi_writes(items: list[Mapping[str, Any]], indexes: list[dict[str, Any]]) -> float:
    """Each written item that is (or was) in a GSI is written there too, at the standard rate;
    ALL projections copy the whole item, others about its keys."""
    units = 0.0
    for index in indexes:
        sized = [item for item in items if item and all(key in item for key in index["keys"])]
        if sized:
            size = max(item_size(item) for item in sized) if index["projection"] == "ALL" else 100
            units += write_units(size)
    return units


def dynamodb_units(call: Call, indexes: list[dict[str, Any]]) -> Units:
    """Request units of one DynamoDB call, from the items it read (its response) or wrote (the
    items before and after it, looked up in moto). Query and Scan are billed on the items read
    before any filter: scaled by ScannedCount/Count where the response says so."""
    op, params, response = call.operation, call.params, call.response or {}
    consistent = bool(params.get("ConsistentRead"))
    if op == "GetItem":
        return Units(rru=read_units(item_size(response.get("Item")), consistent=consistent))
    if op in ("Query", "Scan"):
        items = response.get("Items") or []
        size = sum(item_size(item) for item in items)
        count, scanned = int(response.get("Count", len(items))), int(response.get("ScannedCount", len(items)))
        if count and scanned > count:
            size = size * scanned // count
        return Units(rru=read_units(size, consistent=consistent))
    if op == "BatchGetItem":
        rru = 0.0
        for items in (response.get("Responses") or {}).values():
            rru += sum(read_units(item_size(item), consistent=consistent) for item in items)
        return Units(rru=rru)
    if op == "TransactGetItems":
        return Units(rru=sum(read_units(item_size(r.get("Item")), consistent=True, transactional=True)
                             for r in response.get("Responses") or []))
    before, after = call.items_before, call.items_after
    if op in ("PutItem", "UpdateItem", "DeleteItem"):
        new = params.get("Item") if op == "PutItem" else (after[0] if after else None)
        old = before[0] if before else None
        size = max(item_size(new), item_size(old)) if op != "DeleteItem" else item_size(old)
        return Units(wru=write_units(size) + _gsi_writes([i for i in (old, new) if i], indexes))
    if op in ("TransactWriteItems", "BatchWriteItem"):
        transactional = op == "TransactWriteItems"
        # A transaction's ConditionCheck writes nothing, so no index either; priced as a
        # transactional write of the item it checks (the upper of what AWS's pages suggest).
        checks = {i for i, action in enumerate(params.get("TransactItems") or []) if "ConditionCheck" in action}
        wru = 0.0
        for i in range(max(len(before), len(after))):
            old = before[i] if i < len(before) else {}
            new = after[i] if i < len(after) else {}
            wru += write_units(max(item_size(old), item_size(new)), transactional=transactional)
            if i not in checks:
                wru += _gsi_writes([x for x in (old, new) if x], indexes)
        return Units(wru=wru)
    return Units()  # DescribeTable and the like: control plane, not billed per request


# --- prices --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    usd: float
    per: float  # units the price is for
    unit: str
    source: str
    confirmed: bool  # the figure was found for this region on the source named
    note: str = ""

    def cost(self, quantity: float) -> float:
        return quantity * self.usd / self.per


REGION = "ap-southeast-1 (Asia Pacific, Singapore)"
PRICES_CHECKED = "2026-11-26"
# Looked up on the date above through the stored public pages available here (no live AWS
# pricing API). ``confirmed`` is True only where the page shows the Singapore figure; otherwise the
# figure is the US East one (or derived, as said) and Singapore may be a little dearer.
PRICES: dict[str, Price] = {
    "api_gateway_rest": Price(3.50, 1e6, "REST API request", "https://aws.amazon.com/api-gateway/pricing/ (AWS "
                              "whitepaper 'Best Practices for Designing Amazon API Gateway Private APIs', table 4)",
                              False, "us-east-1, first 333 M/month; Singapore's figure not found"),
    "lambda_request": Price(0.20, 1e6, "Lambda request", "https://aws.amazon.com/lambda/pricing/", False,
                            "us-east-1 (also the AWS whitepaper 'How AWS Pricing Works'); Singapore assumed equal"),
    "lambda_gb_second": Price(0.0000166667, 1, "GB-second (x86)", "https://aws.amazon.com/lambda/pricing/", False,
                              "us-east-1 first 6 B GB-s/month; Singapore assumed equal"),
    "dynamodb_wru": Price(0.7068, 1e6, "write request unit (on-demand)",
                          "https://engineering-ed7.pages.dev/docs/architecture/aws/services/dynamodb (third party)",
                          False, "a pre-November-2024 on-demand figure ($1.4135/M) halved by the 50% on-demand cut "
                          "of 1 Nov 2024; us-east-1 is $0.625/M"),
    "dynamodb_rru": Price(0.1415, 1e6, "read request unit (on-demand)",
                          "https://engineering-ed7.pages.dev/docs/architecture/aws/services/dynamodb (third party)",
                          False, "$0.283/M pre-cut, halved as for writes; us-east-1 is $0.125/M"),
    "step_functions_transition": Price(0.025, 1000, "standard workflow state transition",
                                       "https://aws.amazon.com/step-functions/pricing/", True,
                                       "the page's regional table lists Asia Pacific (Singapore) at $0.0250"),
    "sqs_request": Price(0.40, 1e6, "SQS standard request (64 KB chunk)", "https://aws.amazon.com/sqs/pricing/ "
                         "(via third-party summaries)", False, "us-east-1, first 100 B requests/month"),
    "s3_put": Price(0.005, 1000, "S3 PUT/COPY/POST/LIST request", "https://aws.amazon.com/s3/pricing/", False,
                    "us-east-1 Standard; Singapore not found"),
    "s3_get": Price(0.0004, 1000, "S3 GET/HEAD request", "https://aws.amazon.com/s3/pricing/", False,
                    "us-east-1 Standard; Singapore not found"),
    "secrets_manager_call": Price(0.05, 10000, "Secrets Manager API call",
                                  "https://aws.amazon.com/secrets-manager/pricing/", False, "not found; list price"),
    "ses_email": Price(0.10, 1000, "SES outbound email", "https://aws.amazon.com/ses/pricing/", False,
                       "not found; list price"),
}
# Not per dossier, or not priced: said in the table's notes rather than guessed.
UNPRICED = {
    "sns:Publish (SMS)": "SMS to Vietnamese numbers is priced per message and carrier; not found, not priced",
    "cognito": "Cognito bills monthly active users, not dossiers (a citizen signing in once a month for one "
               "dossier would add about $0.0055-0.015 each, depending on the tier): not in the per-dossier total",
    "logs": "CloudWatch Logs ingestion and S3/DynamoDB storage grow with retention, not per request: not modelled",
}

# --- the journey ---------------------------------------------------------------------------------

# API requests a typical dossier of the one-agency route makes (citizen: find the procedure,
# upload two documents, submit, look at it twice and track it twice; agency: its inbox once per
# task, two decisions). Operation names are bench/calls.py's.
JOURNEY: dict[str, int] = {
    "browse: GET /procedures": 1,
    "browse: GET /procedures/{code}": 1,
    "upload ticket: POST /uploads": 2,
    "submit: POST /dossiers": 1,
    "my dossier: GET /dossiers/{code}": 2,
    "track: GET /track/{code}": 2,
    "agency inbox: GET /agency/tasks": 2,
    "agency decision: receive": 1,
    "agency decision: approve": 1,
}
# The browser's own S3 requests per dossier: the two documents' presigned POST uploads.
BROWSER_S3_PUTS = 2
# Each message an SQS event source hands to Lambda costs a receive and a delete (batched in
# practice: an upper bound), on top of the send the app or the state machine made.
SQS_CONSUME_REQUESTS_PER_MESSAGE = 2
S3_PUT_CLASS = {"PutObject", "CopyObject", "PostObject", "PutObjectTagging", "ListObjects", "ListObjectsV2",
                "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"}


def lambda_memory_mb(config_path: Any = CHALICE_CONFIG_PATH, stage: str = PROVINCE_STAGE) -> dict[str, int]:
    """Memory of each function in a province stage of .chalice/config.json."""
    config = json.loads(config_path.read_text(encoding="utf-8"))
    stage_config = config["stages"][stage]
    default = int(stage_config.get("lambda_memory_size", config.get("lambda_memory_size", 128)))
    functions = stage_config.get("lambda_functions") or {}
    return {name: int(functions.get(name, {}).get("lambda_memory_size", default))
            for name in ("api_handler", "on_task_message", "on_webhook_message", "on_table_record")}


@dataclass
class Usage:
    """Billable quantities per dossier."""

    api_requests: float = 0
    lambda_requests: float = 0
    lambda_gb_seconds: float = 0
    rru: float = 0
    wru: float = 0
    transitions: float = 0
    sqs_requests: float = 0
    s3_puts: float = 0
    s3_gets: float = 0
    secrets_calls: float = 0
    emails: float = 0
    sms: float = 0


def _count_calls(usage: Usage, by_operation: Mapping[str, int], times: float) -> None:
    for name, n in by_operation.items():
        service, operation = name.split(":", 1)
        if service == "sqs" and operation.startswith("Send"):
            usage.sqs_requests += n * times
        elif service == "s3":
            if operation in S3_PUT_CLASS:
                usage.s3_puts += n * times
            else:
                usage.s3_gets += n * times
        elif service == "secretsmanager":
            usage.secrets_calls += n * times
        elif service in ("email", "ses"):
            usage.emails += n * times
        elif service == "sns" and operation == "Publish":
            usage.sms += n * times


def usage_per_dossier(calls: Mapping[str, Any], memory_mb: Mapping[str, int],
                      journey: Mapping[str, int] = JOURNEY) -> Usage:
    """The billable quantities of one dossier, from the calls part's results."""
    usage = Usage()
    operations = calls["operations"]
    api_gb = memory_mb["api_handler"] / 1024
    for name, times in journey.items():
        measured = operations[name]["warm"]
        usage.api_requests += times
        usage.lambda_requests += times
        usage.lambda_gb_seconds += times * api_gb * _billed_seconds(measured["seconds"])
        usage.rru += times * measured["rru"]
        usage.wru += times * measured["wru"]
        _count_calls(usage, measured["by_operation"], times)
    workers = calls["background"]["workers"]
    for worker, function in (("task worker", "on_task_message"), ("webhook worker", "on_webhook_message")):
        gb = memory_mb[function] / 1024
        for message in workers.get(worker, []):
            usage.lambda_requests += 1
            usage.lambda_gb_seconds += gb * _billed_seconds(message["seconds"])
            usage.rru += message["rru"]
            usage.wru += message["wru"]
            usage.sqs_requests += SQS_CONSUME_REQUESTS_PER_MESSAGE
            _count_calls(usage, message["by_operation"], 1)
    # The table stream's worker: one invocation per record its event source's filter passes (an
    # upper bound: Lambda batches records, those of one transaction together). Reading the stream
    # is free for a Lambda event source; no SQS around it.
    stream_records = workers.get("stream worker", [])
    if stream_records:
        gb = memory_mb["on_table_record"] / 1024
        for record in stream_records:
            usage.lambda_requests += 1
            usage.lambda_gb_seconds += gb * _billed_seconds(record["seconds"])
            usage.rru += record["rru"]
            usage.wru += record["wru"]
            _count_calls(usage, record["by_operation"], 1)
    machine = calls["background"]["state_machine"]
    usage.rru += machine["rru"]
    usage.wru += machine["wru"]
    _count_calls(usage, machine["by_operation"], 1)
    usage.transitions += calls["transitions"]["transitions"]
    usage.s3_puts += BROWSER_S3_PUTS
    return usage


def _billed_seconds(seconds: float) -> float:
    """Lambda rounds each invocation up to the millisecond."""
    return math.ceil(seconds * 1000) / 1000


def cost_per_million(usage: Usage, prices: Mapping[str, Price] = PRICES) -> dict[str, float]:
    """Dollars for 1 million dossiers, by service."""
    million = 1_000_000

    def p(key: str, quantity: float) -> float:
        return prices[key].cost(quantity * million)

    return {
        "API Gateway": p("api_gateway_rest", usage.api_requests),
        "Lambda": p("lambda_request", usage.lambda_requests) + p("lambda_gb_second", usage.lambda_gb_seconds),
        "DynamoDB": p("dynamodb_rru", usage.rru) + p("dynamodb_wru", usage.wru),
        "Step Functions": p("step_functions_transition", usage.transitions),
        "SQS": p("sqs_request", usage.sqs_requests),
        "S3 requests": p("s3_put", usage.s3_puts) + p("s3_get", usage.s3_gets),
        "Secrets Manager": p("secrets_manager_call", usage.secrets_calls),
        "SES email": p("ses_email", usage.emails),
    }


def _money(value: float) -> str:
    return f"${Decimal(str(round(value, 2))):,.2f}"


def run(context: RunContext) -> PartResult:
    """Prices this run's calls figures (measured first if the calls part was not asked for)."""
    return price(context.run("calls").data)


def price(calls: Mapping[str, Any]) -> PartResult:
    memory = lambda_memory_mb()
    usage = usage_per_dossier(calls, memory)
    costs = cost_per_million(usage)
    total = sum(costs.values())
    messages = sum(costs[service] for service in MESSAGE_SERVICES)
    platform = total - messages
    quantity = {
        "API Gateway": f"{usage.api_requests:g} requests",
        "Lambda": f"{usage.lambda_requests:g} invocations, {usage.lambda_gb_seconds:.3f} GB-s",
        "DynamoDB": f"{usage.rru:g} RRU + {usage.wru:g} WRU",
        "Step Functions": f"{usage.transitions:g} transitions",
        "SQS": f"{usage.sqs_requests:g} requests",
        "S3 requests": f"{usage.s3_puts:g} PUT-class + {usage.s3_gets:g} GET-class",
        "Secrets Manager": f"{usage.secrets_calls:g} calls",
        "SES email": f"{usage.emails:g} emails to the citizen",
    }

    def row(service: str, dollars: float) -> list[Any]:
        return [service, quantity[service], _money(dollars), f"{dollars / total:.0%}" if total else "—"]

    rows: list[list[Any]] = [row(service, dollars) for service, dollars in sorted(costs.items(), key=lambda kv: -kv[1])
                             if service not in MESSAGE_SERVICES]
    ok = platform <= TARGET_PER_MILLION
    rows.append(["platform", "", _money(platform), ""])
    rows.append(["target (platform)", f"≤ {_money(TARGET_PER_MILLION)}", "pass" if ok else "FAIL", ""])
    rows += [row(service, costs[service]) for service in MESSAGE_SERVICES]
    rows.append(["total with the citizens' messages", "", _money(total), ""])
    unconfirmed = sorted(key for key, price in PRICES.items() if not price.confirmed)
    notes = [
        f"region {REGION}; prices checked {PRICES_CHECKED}; sources and caveats in bench/cost.py PRICES",
        f"prices not confirmed for Singapore (US East or derived figures used): {', '.join(unconfirmed)}",
        f"Lambda memory from .chalice/config.json stage {PROVINCE_STAGE}: "
        + ", ".join(f"{k} {v} MB" for k, v in memory.items())
        + "; durations are this machine's in-process times on moto (a stand-in for Lambda's)",
        f"journey per dossier: {', '.join(f'{n}× {op}' for op, n in JOURNEY.items())}; "
        f"plus {BROWSER_S3_PUTS} browser uploads to S3, every background message and transition measured",
        f"the target is checked against the platform: the citizens' messages are per message and the province's "
        f"choice of channels, and the issue's Step Functions floor ({_money(STEP_FUNCTIONS_FLOOR_PER_MILLION)}) is "
        f"below two e-mails' cost alone, so its figures leave them out",
        "the overdue sweep (every 5 minutes: one Query per agency, one SQS message, one invocation) costs per "
        "month, not per dossier: about 9,000 invocations and 0.9 M queries a month for 100 agencies, cents",
        f"SMS messages per dossier: {usage.sms:g} ({UNPRICED['sns:Publish (SMS)']})",
        UNPRICED["cognito"], UNPRICED["logs"],
        f"reference points (issue 8): naive designs ≈ {_money(NAIVE_DESIGNS_PER_MILLION)}, "
        f"Step Functions floor ≈ {_money(STEP_FUNCTIONS_FLOOR_PER_MILLION)} per million dossiers",
    ]
    table = Table("Cost of 1 million dossiers (one-agency route), by service", ["service", "per dossier", "per million",
                                                                                "share"], rows, notes)
    data = {
        "region": REGION, "prices_checked": PRICES_CHECKED,
        "prices": {key: {"usd": price.usd, "per": price.per, "unit": price.unit, "source": price.source,
                         "confirmed": price.confirmed, "note": price.note} for key, price in PRICES.items()},
        "journey": JOURNEY, "lambda_memory_mb": memory, "usage_per_dossier": usage.__dict__,
        "per_million_usd": costs, "platform_per_million_usd": platform, "messages_per_million_usd": messages,
        "message_services": list(MESSAGE_SERVICES), "total_per_million_usd": total,
        "target_per_million_usd": TARGET_PER_MILLION, "target_checked_against": "platform",
        "pass": ok, "sms_per_dossier": usage.sms,
    }
    return PartResult(data, [table])

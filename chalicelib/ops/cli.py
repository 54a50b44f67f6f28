"""The ops command line (see ``chalicelib/ops/__init__.py``)."""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from chalicelib.domain.webhook_secrets import MAX_GRACE
from chalicelib.ops.environment import DEFAULT_STATE_DIR, UsageError, province_dir, use_local_stack

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
DEFAULT_GRACE_SECONDS = 5.0
MAX_GRACE_SECONDS = 3600.0
MAX_SECRET_GRACE_HOURS = MAX_GRACE.total_seconds() / 3600


def _number(low: float, high: float) -> Callable[[str], float]:
    """An argument type: a number from ``low`` to ``high`` (not nan nor inf), else a usage error
    before anything is read or written."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}, not {text}")
        return value

    return parse


def _common_options(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--local", action="store_true", default=default,
                        help="use the local stack started by `make run` (reads <state-dir>/stack.json); also "
                             "allows http:// and loopback webhook URLs")
    parser.add_argument("--state-dir", type=Path, default=default,
                        help="the local stack's state folder (default: .local)")
    parser.add_argument("--province-dir", type=Path, default=default,
                        help="the province's data folder (default: infra/provinces/$MOTCUA_PROVINCE)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m chalicelib.ops",
        description="Ops commands for one province's motcua stack. They act on the AWS account and table the "
                    "environment names (AWS credentials, AWS_REGION, MOTCUA_* settings of the stage), or on the "
                    "local stack with --local. Every command is idempotent and says what it changed.",
    )
    _common_options(parser, argparse.SUPPRESS)
    # The same options after the command (`… catalogue import x.csv --local`); given there, they win.
    common = argparse.ArgumentParser(add_help=False)
    _common_options(common, argparse.SUPPRESS)
    groups = parser.add_subparsers(dest="group", required=True, metavar="{catalogue,agency,webhooks,stats,audit}")

    catalogue = groups.add_parser("catalogue", help="the procedure catalogue")
    catalogue_commands = catalogue.add_subparsers(dest="command", required=True)
    imported = catalogue_commands.add_parser(
        "import", parents=[common], help="import an export of the national procedure database (CSV or JSON)",
        description="Merges each row of the export onto the province's procedures.json entry with the same "
                    "code (which gives what the export lacks: form schema, route, documents, templates), "
                    "validates the whole catalogue, shows the difference with the table and writes it as a new "
                    "catalogue version. Format: docs/ops-catalogue-import.md.")
    imported.add_argument("path", type=Path, help="the export, .csv (UTF-8) or .json")
    imported.add_argument("--dry-run", action="store_true", help="show the difference, write nothing")
    imported.add_argument("--keep-unlisted", action="store_true",
                          help="keep the procedures the export does not list (default: they are removed)")
    imported.add_argument("--grace-seconds", type=_number(0.0, MAX_GRACE_SECONDS), default=DEFAULT_GRACE_SECONDS,
                          help="wait between switching to the new version and deleting the versions before the "
                               "one it replaces (that one stays until the next import, for containers that still "
                               f"follow it), so that requests reading them finish (default {DEFAULT_GRACE_SECONDS:g})")

    agency = groups.add_parser("agency", help="agencies, their API keys and webhooks")
    agency_commands = agency.add_subparsers(dest="command", required=True)
    add = agency_commands.add_parser("add", parents=[common], help="add an agency (or, with --update, change one)")
    add.add_argument("--code", required=True, help="electronic identifier, e.g. 000.00.21.H38")
    add.add_argument("--name", required=True, help="Vietnamese name")
    add.add_argument("--tier", required=True, help="one of the province's tiers (province.json), e.g. commune")
    add.add_argument("--parent", default=None, help="the supervising agency's code")
    add.add_argument("--name-en", default="", help="English name")
    add.add_argument("--update", action="store_true", help="change the agency if it exists with other values")

    key = agency_commands.add_parser("key", help="the agency's API keys")
    key_commands = key.add_subparsers(dest="action", required=True)
    issue = key_commands.add_parser("issue", parents=[common],
                                    help="issue an API key (none if one with this label is active)")
    rotate = key_commands.add_parser("rotate", parents=[common], help="issue a new key, then revoke the old one")
    revoke = key_commands.add_parser("revoke", parents=[common], help="revoke a key at once")
    for command in (issue, rotate, revoke):
        command.add_argument("--agency", required=True, help="the agency's code")
    issue.add_argument("--label", default="ops", help="what the key is for (default: ops)")
    rotate.add_argument("--key-id", default=None,
                        help="the key to replace (default: the agency's only active key); with it, a second run "
                             "changes nothing")
    revoke_which = revoke.add_mutually_exclusive_group()
    revoke_which.add_argument("--key-id", default=None, help="the key to revoke")
    revoke_which.add_argument("--all", action="store_true", help="revoke every active key of the agency")

    webhook = agency_commands.add_parser("webhook", help="the agency's webhook endpoint")
    webhook_commands = webhook.add_subparsers(dest="action", required=True)
    set_url = webhook_commands.add_parser(
        "set-url", parents=[common],
        help="set where the agency receives webhooks (https, public addresses only, unless --local)")
    set_url.add_argument("--agency", required=True, help="the agency's code")
    set_url.add_argument("url", help="https://… (http:// and loopback only with --local)")
    rotate_secret = webhook_commands.add_parser("rotate-secret", parents=[common],
                                                help="give the endpoint a new signing secret")
    rotate_secret.add_argument("--agency", required=True, help="the agency's code")
    rotate_secret.add_argument("--replace", default=None, metavar="FINGERPRINT",
                               help="rotate only if the current secret has this fingerprint (as printed): a "
                                    "second run then changes nothing")
    rotate_secret.add_argument("--grace-hours", type=_number(0.0, MAX_SECRET_GRACE_HOURS), default=24.0,
                               metavar="HOURS",
                               help="how long the old secret keeps signing beside the new one (default 24; "
                                    "0 for a leaked secret: it stops at once)")

    deliveries = groups.add_parser("webhooks", help="webhook deliveries to agencies")
    delivery_commands = deliveries.add_subparsers(dest="command", required=True)
    delivery_commands.add_parser(
        "redrive", parents=[common], help="move every message of the webhook dead-letter queue back to the webhook "
                                          "queue (after the agency's endpoint is back)",
        description="Sends each message of the webhook dead-letter queue to the webhook queue, as it is, and deletes "
                    "it from the dead-letter queue once sent; the webhook worker then delivers it with a new round "
                    "of retries. Works on AWS and on the local stack (where start-message-move-task does not). "
                    "Messages dead-lettered while it runs are left for the next run.")

    statistics = groups.add_parser("stats", help="statistics")
    statistics_commands = statistics.add_subparsers(dest="command", required=True)
    export = statistics_commands.add_parser(
        "export", parents=[common], help="the GET /stats counters and rates per agency, with a province total, as CSV")
    export.add_argument("--month", default=None, help="one month, YYYY-MM (default: all time)")
    export.add_argument("--out", type=Path, default=None,
                        help="write this file (UTF-8 with BOM, for Excel); default: standard output")
    trail = groups.add_parser("audit", help="audit trails of staff reads")
    trail_commands = trail.add_subparsers(dest="command", required=True)
    checked = trail_commands.add_parser(
        "verify", parents=[common], help="check a dossier's hash-chained audit trail; exit 1 if it is broken")
    checked.add_argument("--dossier", required=True, help="the dossier code")
    reads = trail_commands.add_parser(
        "reads", parents=[common], help="what an agency's keys and webhooks were shown on one (UTC) day")
    reads.add_argument("--agency", required=True, help="the agency code")
    reads.add_argument("--day", required=True, help="the day, YYYY-MM-DD (UTC)")
    return parser


def _run(args: argparse.Namespace, out: TextIO) -> None:
    # Imported here: --local must set the environment before anything reads settings.
    from chalicelib.config import get_settings
    from chalicelib.ops import agencies, audit, catalogue, statistics, webhooks

    settings = get_settings()
    if args.group == "webhooks":
        webhooks.redrive(out)
    elif args.group == "audit" and args.command == "reads":
        audit.reads(out, agency_code=args.agency, day=args.day)
    elif args.group == "audit":
        audit.verify(out, code=args.dossier)
    elif args.group == "catalogue":
        catalogue.import_export(args.path, province_dir(args.province_dir, settings.province), out,
                                dry_run=args.dry_run, keep_unlisted=args.keep_unlisted,
                                grace_seconds=args.grace_seconds)
    elif args.group == "stats":
        statistics.export(out, month=args.month, path=args.out)
    elif args.command == "add":
        agencies.add(out, code=args.code, name=args.name, tier=args.tier, parent=args.parent,
                     name_en=args.name_en, update=args.update,
                     directory=province_dir(args.province_dir, settings.province))
    elif args.command == "key":
        if args.action == "issue":
            agencies.issue_key(out, code=args.agency, label=args.label)
        elif args.action == "rotate":
            agencies.rotate_key(out, code=args.agency, key_id=args.key_id)
        else:
            agencies.revoke_key(out, code=args.agency, key_id=args.key_id, revoke_all=args.all)
    elif args.action == "set-url":
        agencies.set_url(out, code=args.agency, url=args.url, local=args.local)
    else:
        agencies.rotate_secret(out, code=args.agency, replace_fingerprint=args.replace,
                               grace_hours=args.grace_hours)


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        # argparse prints to the process's streams: the caller's, here.
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help (0) or a usage error (2), already printed by argparse
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else EXIT_USAGE
    # SUPPRESS everywhere: whichever place named an option, or the default.
    args.local = bool(getattr(args, "local", None))
    args.state_dir = getattr(args, "state_dir", None) or DEFAULT_STATE_DIR
    args.province_dir = getattr(args, "province_dir", None)
    from botocore.exceptions import BotoCoreError, ClientError
    from pynamodb.exceptions import PynamoDBException

    from chalicelib.config import SettingsError
    from chalicelib.ops.audit import ChainBroken
    from chalicelib.store.repository import StoreError

    try:
        if args.local:
            use_local_stack(args.state_dir)
        _run(args, out)
    except UsageError as error:
        print(f"error: {error}", file=err)
        return EXIT_USAGE
    except SettingsError as error:
        print(f"error: the environment is not a stage's: {error} (set the MOTCUA_* variables, or use --local)",
              file=err)
        return EXIT_USAGE
    except (StoreError, PynamoDBException, BotoCoreError, ClientError, ChainBroken) as error:
        print(f"failed: {error}", file=err)
        return EXIT_FAILED
    return EXIT_OK

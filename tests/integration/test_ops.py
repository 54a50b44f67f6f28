"""The ops command line on moto in-process: each command, what it writes, and running it twice."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.domain.catalogue import agency_to_dict
from chalicelib.domain.errors import Unauthenticated
from chalicelib.ops import cli
from chalicelib.services import agency_auth, webhooks
from chalicelib.services.deps import get_store
from chalicelib.store import models as m
from chalicelib.store import webhooks as endpoints
from tests.factories import COMMUNE, DESK, create_catalogue, create_procedure_dict

HEADER = ["Mã thủ tục", "Tên thủ tục", "Cấp thực hiện", "Mức độ", "Phí, lệ phí", "Thời hạn giải quyết"]


def endpoint(code: str = DESK) -> endpoints.WebhookEndpoint:
    found = endpoints.get_endpoint(code)
    assert found is not None
    return found


def signing(code: str = DESK) -> list[str]:
    """The secrets a delivery to the agency is signed with now, newest first (read with no cache)."""
    return webhooks.signing_secrets(endpoint(code), force=True)


def procedure(code: str) -> Any:
    found = get_store().get_procedure(code)
    assert found is not None
    return found


def agency(code: str) -> Any:
    found = get_store().get_agency(code)
    assert found is not None
    return found


def summary() -> dict[str, Any]:
    found = get_store().catalogue_summary()
    assert found is not None
    return found


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def sample_procedures(count: int | None = None) -> list[dict[str, Any]]:
    if count is None:
        return [
            create_procedure_dict(),
            create_procedure_dict("1.001193", level=3, fee_vnd=0, agency=COMMUNE, tier="commune", days=3,
                                  name="Đăng ký khai sinh"),
            create_procedure_dict("1.000001", level=2, fee_vnd=0, name="Chứng thực bản sao từ bản chính"),
            create_procedure_dict("1.000002", level=1, fee_vnd=0, name="Thủ tục chỉ có thông tin"),
        ]
    return [create_procedure_dict(f"9.{n:06d}", name=f"Thủ tục thử số {n}") for n in range(count)]


def write_province(directory: Path, procedures: list[dict[str, Any]]) -> Path:
    directory.mkdir()
    (directory / "templates").mkdir()
    (directory / "templates" / "to-khai.txt").write_text("Tờ khai\n", encoding="utf-8")
    documents = {
        "province.json": {"code": "lamdong", "name": "Tỉnh Lâm Đồng", "tiers": [
            {"code": "province", "name": "Cấp tỉnh"}, {"code": "commune", "name": "Cấp xã"}]},
        "agencies.json": {"agencies": [agency_to_dict(a) for a in create_catalogue().agencies]},
        "procedures.json": {"sources": {"law": "Luật Lý lịch tư pháp 2009"}, "procedures": procedures},
    }
    for name, document in documents.items():
        (directory / name).write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return directory


def write_export(path: Path, rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    path.write_bytes(("\ufeff" + buffer.getvalue()).encode("utf-8"))
    return path


@pytest.fixture
def province(aws: dict[str, str], tmp_path: Path) -> Path:
    get_store().put_catalogue(create_catalogue())
    return write_province(tmp_path / "lamdong", sample_procedures())


def test_import_dry_run_then_import_then_no_change(api: Any, province: Path, tmp_path: Path) -> None:
    export = write_export(tmp_path / "export.csv", [
        ["2.000488", "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam", "Cấp tỉnh", "Mức độ 4",
         "Lệ phí: 250.000 đồng/lần", "10 ngày làm việc"],
        ["1.001193", "Đăng ký khai sinh", "Cấp xã", "3", "Không", "3"],
        ["1.000001", "Chứng thực bản sao điện tử từ bản chính", "", "", "", ""],
    ])
    store = get_store()
    version = store.catalogue_version()
    code, out, err = run("--province-dir", str(province), "catalogue", "import", str(export), "--dry-run")
    assert (code, err) == (0, "")
    assert "~ 2.000488\n    fee_vnd: 200000 → 250000\n" in out
    assert "    name: Chứng thực bản sao từ bản chính → Chứng thực bản sao điện tử từ bản chính" in out
    assert "- 1.000002 Thủ tục chỉ có thông tin" in out
    assert out.endswith("dry run: 0 added, 2 changed, 1 removed, 1 unchanged; 1 form templates to upload; "
                        "nothing written\n")
    assert store.catalogue_version() == version and procedure("2.000488").fee_vnd == 200000

    for grace in ("inf", "nan", "-1", "3601"):  # refused before anything is read or written
        code, _, err = run("catalogue", "import", str(export), "--province-dir", str(province),
                           "--grace-seconds", grace)
        assert code == 2 and "--grace-seconds: must be between 0 and 3600" in err
    assert store.catalogue_version() == version
    code, out, err = run("catalogue", "import", str(export), "--province-dir", str(province), "--grace-seconds", "0")
    assert (code, err) == (0, "")
    assert "imported export.csv: 0 added, 2 changed, 1 removed, 1 unchanged" in out
    assert api.http.get("/procedures/2.000488").json_body["fee_vnd"] == 250000
    assert api.http.get("/procedures/1.000002").status_code == 404
    assert sorted(i["code"] for i in api.http.get("/procedures").json_body["items"]) == [
        "1.000001", "1.001193", "2.000488"]
    assert summary()["procedures"]["total"] == 3
    listed = boto3.client("s3").list_objects_v2(Bucket=aws_documents_bucket())
    assert [o["Key"] for o in listed["Contents"]] == ["templates/lamdong/to-khai.txt"]
    items = list(m.TableItem.gsi1.query(m.CATALOGUE_PROCEDURES))
    # The version it replaced stays until the next load, for containers that still follow it.
    assert sorted((i.catalogue_version == version, i.code) for i in items if isinstance(i, m.ProcedureItem)) == [
        (False, "1.000001"), (False, "1.001193"), (False, "2.000488"),
        (True, "1.000001"), (True, "1.000002"), (True, "1.001193"), (True, "2.000488")]
    assert "running containers follow it within 60 s" in out

    version = store.catalogue_version()
    code, out, err = run("catalogue", "import", str(export), "--province-dir", str(province))
    assert code == 0 and out.startswith("no change: the table already holds this catalogue")
    assert store.catalogue_version() == version


def aws_documents_bucket() -> str:
    from chalicelib.config import get_settings

    return get_settings().documents_bucket


def test_a_bad_export_is_refused_with_rows_and_columns_and_writes_nothing(province: Path, tmp_path: Path) -> None:
    export = write_export(tmp_path / "bad.csv", [
        ["2.000488", "Cấp Phiếu lý lịch tư pháp", "Cấp tỉnh", "4", "8.000 hoặc 4.000", "10"],
        ["1.001193", "Đăng ký khai sinh", "Cấp xã", "3", "0", "3"],
        ["7.777777", "Không có trong procedures.json", "Cấp xã", "3", "0", "3"],
    ])
    version = get_store().catalogue_version()
    code, out, err = run("catalogue", "import", str(export), "--province-dir", str(province))
    assert code == 2 and out == ""
    assert "the export is refused (2 rows); nothing was written" in err
    assert "row 2: Phí, lệ phí: '8.000 hoặc 4.000' names several amounts" in err
    assert "row 4: Mã thủ tục: 7.777777 has no entry in procedures.json" in err
    assert "Traceback" not in err and get_store().catalogue_version() == version

    level_one = write_export(tmp_path / "level.csv", [["2.000488", "Cấp Phiếu", "", "1", "", ""]])
    code, _, err = run("catalogue", "import", str(level_one), "--province-dir", str(province))
    assert code == 2 and "row 2: Mức độ:" in err


def listed_codes(api: Any, *, page_size: int) -> list[str]:
    """Every procedure code GET /procedures lists, page after page."""
    codes: list[str] = []
    cursor = ""
    while True:
        page = api.http.get(f"/procedures?limit={page_size}{'&cursor=' + cursor if cursor else ''}").json_body
        codes.extend(item["code"] for item in page["items"])
        if not page["next_cursor"]:
            return codes
        cursor = page["next_cursor"]


def test_importing_150_procedures_lifts_the_transaction_limit(api: Any, aws: dict[str, str], tmp_path: Path) -> None:
    get_store().put_catalogue(create_catalogue())
    directory = write_province(tmp_path / "big", sample_procedures(150))
    export = write_export(tmp_path / "big.csv", [[f"9.{n:06d}", f"Thủ tục số {n}", "Cấp tỉnh", "4", "200.000", "10"]
                                                 for n in range(150)])
    code, out, err = run("catalogue", "import", str(export), "--province-dir", str(directory),
                         "--grace-seconds", "0")
    assert (code, err) == (0, ""), err
    assert "150 added, 0 changed, 4 removed" in out
    assert listed_codes(api, page_size=100) == [f"9.{n:06d}" for n in range(150)]
    assert api.http.get("/procedures/9.000149").json_body["name"] == "Thủ tục số 149"
    assert len(list(m.TableItem.gsi1.query(m.CATALOGUE_PROCEDURES))) == 150 + 4  # + the previous version


def test_readers_see_the_old_or_the_new_catalogue_never_a_mix(api: Any, aws: dict[str, str]) -> None:
    store = get_store()
    old = create_catalogue()
    store.put_catalogue(old)
    new = create_catalogue([create_procedure_dict(f"9.{n:06d}", name=f"Mới {n}") for n in range(120)])
    old_codes = sorted(p.code for p in old.procedures)
    new_codes = sorted(p.code for p in new.procedures)
    seen: list[tuple[str, str]] = []

    def read(step: str) -> None:
        codes = listed_codes(api, page_size=50)
        state = "old" if codes == old_codes else "new" if codes == new_codes else f"mixed ({len(codes)})"
        single_old = api.http.get("/procedures/2.000488").status_code
        single_new = api.http.get("/procedures/9.000119").status_code
        total = summary()["procedures"]["total"]
        expected = (200, 404, len(old_codes)) if state == "old" else (404, 200, len(new_codes))
        assert (single_old, single_new, total) == expected, (step, state)
        seen.append((step, state))

    result = store.replace_catalogue(new, on_step=read)
    # The old version stays readable (other containers remember the pointer for a while) …
    assert result.changed and result.procedures_written == 120 and result.procedures_deleted == 0
    assert [state for _, state in seen] == ["old"] * 7 + ["new", "new"]  # agencies, 5 batches, indexed | flipped…
    assert [step for step, _ in seen][-2:] == ["flipped", "retired"]
    # … until the next load, which deletes it and keeps the one it replaces.
    assert store.put_catalogue(old).procedures_deleted == 4
    assert len(list(m.TableItem.gsi1.query(m.CATALOGUE_PROCEDURES))) == 4 + 120


def test_agency_add_is_idempotent_and_updates_only_on_request(api: Any, province: Path) -> None:
    args = ("--province-dir", str(province), "agency", "add", "--code", "000.02.10.H38",
            "--name", "UBND xã Lạc Dương", "--tier", "commune", "--parent", DESK, "--name-en", "Lac Duong commune")
    code, out, _ = run(*args)
    assert code == 0 and out == "added agency 000.02.10.H38 'UBND xã Lạc Dương' (tier commune, parent " \
                                f"{DESK})\n"
    assert run(*args)[1] == "no change: agency 000.02.10.H38 already exists as given\n"
    listed = {a["code"]: a for a in api.http.get("/agencies").json_body["items"]}
    assert listed["000.02.10.H38"]["name"] == "UBND xã Lạc Dương"

    renamed = [*args[:-4], "--name", "UBND xã Lạc Dương mới", *args[-4:]]
    renamed.remove("UBND xã Lạc Dương")
    renamed.remove("--name")
    code, _, err = run(*renamed)
    assert code == 2 and "already exists with other values (name: 'UBND xã Lạc Dương' → 'UBND xã Lạc Dương mới')" \
        in err
    code, out, _ = run(*renamed, "--update")
    assert code == 0 and out.startswith("updated agency 000.02.10.H38: name:")
    assert agency("000.02.10.H38").name == "UBND xã Lạc Dương mới"

    for bad, message in ((["--tier", "district"], "unknown tier 'district'"),
                         (["--parent", "000.99.99.H38"], "unknown parent agency"),
                         (["--code", "x y"], "invalid agency: code")):
        attempt = list(args)
        attempt[attempt.index(bad[0]) + 1] = bad[1]
        code, _, err = run(*attempt)
        assert code == 2 and message in err, err


def test_api_keys_issue_rotate_revoke(province: Path) -> None:
    code, out, _ = run("agency", "key", "issue", "--agency", DESK)
    assert code == 0 and out.startswith("issued API key ")
    first = out.splitlines()[1]
    first_id = agency_auth.authenticate_agency(first).key_id
    code, out, _ = run("agency", "key", "issue", "--agency", DESK)
    assert code == 0 and out.startswith(f"no change: agency {DESK} already has active key {first_id}")

    code, out, _ = run("agency", "key", "rotate", "--agency", DESK, "--key-id", first_id)
    assert code == 0 and f"revoked the old key {first_id}" in out
    second = out.splitlines()[1]
    assert agency_auth.authenticate_agency(second).agency_code == DESK
    with pytest.raises(Unauthenticated):
        agency_auth.authenticate_agency(first)
    code, out, _ = run("agency", "key", "rotate", "--agency", DESK, "--key-id", first_id)
    assert code == 0 and out.startswith(f"no change: key {first_id} of agency {DESK} was already revoked")

    second_id = agency_auth.authenticate_agency(second).key_id
    code, out, _ = run("agency", "key", "revoke", "--agency", DESK, "--all")
    assert code == 0 and out == f"revoked API key {second_id} of agency {DESK} (label 'ops')\n"
    assert run("agency", "key", "revoke", "--agency", DESK, "--all")[1] == \
        f"no change: no key is active for agency {DESK}\n"
    assert run("agency", "key", "revoke", "--agency", DESK, "--key-id", second_id)[1] == \
        f"no change: key {second_id} is not active for agency {DESK}\n"
    code, _, err = run("agency", "key", "revoke", "--agency", DESK)
    assert code == 2 and "--key-id ID, or --all" in err
    code, _, err = run("agency", "key", "issue", "--agency", "000.99.99.H38")
    assert code == 2 and "unknown agency '000.99.99.H38'" in err


def test_webhook_url_and_secret(province: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {"agency.example.vn": ["203.113.131.1"], "intranet.example.vn": ["10.20.0.5"]}
    monkeypatch.setattr("chalicelib.domain.webhook_urls.resolve", lambda host, port: answers[host])
    code, out, _ = run("agency", "webhook", "set-url", "--agency", DESK, "https://agency.example.vn/hooks")
    assert code == 0 and out.startswith(f"set the webhook URL of agency {DESK} to https://agency.example.vn/hooks")
    secret = out.splitlines()[1]
    assert secret.startswith("whsec_") and signing() == [secret]
    assert endpoint().secret_name == f"motcua/lamdong/webhooks/{DESK}" and endpoint().legacy_secret is None
    assert run("agency", "webhook", "set-url", "--agency", DESK, "https://agency.example.vn/hooks")[1] == \
        f"no change: agency {DESK} already receives webhooks at https://agency.example.vn/hooks\n"

    for url, message in (("https://intranet.example.vn/", "resolves to 10.20.0.5, which is a private address"),
                         ("http://127.0.0.1:9000/hooks", "must start with https://"),
                         ("https://169.254.169.254/", "link-local")):
        code, _, err = run("agency", "webhook", "set-url", "--agency", DESK, url)
        assert code == 2 and message in err, err
    assert endpoint().url == "https://agency.example.vn/hooks"

    monkeypatch.setattr(cli, "use_local_stack", lambda state_dir: None)  # moto in-process is the "local stack"
    code, out, _ = run("--local", "agency", "webhook", "set-url", "--agency", DESK, "http://127.0.0.1:9000/hooks")
    assert code == 0 and "URL https://agency.example.vn/hooks → http://127.0.0.1:9000/hooks" in out
    assert signing() == [secret]

    from chalicelib.ops.agencies import fingerprint

    old = fingerprint(secret)
    code, out, _ = run("agency", "webhook", "rotate-secret", "--agency", DESK, "--replace", old)
    assert code == 0 and out.startswith(f"rotated the webhook secret of agency {DESK}: {old} → ")
    new_secret = out.splitlines()[1]
    assert signing() == [new_secret, secret] and new_secret != secret  # both sign during the grace period
    code, out, _ = run("agency", "webhook", "rotate-secret", "--agency", DESK, "--replace", old)
    assert code == 0 and out.startswith(f"no change: the webhook secret of agency {DESK} is {fingerprint(new_secret)}")
    code, _, err = run("agency", "webhook", "rotate-secret", "--agency", JUSTICE_CODE)
    assert code == 2 and "has no webhook endpoint" in err


JUSTICE_CODE = "000.00.05.H38"


def table_text() -> str:
    """Every item of the table as text (a Scan of moto's table): to prove what it does not hold."""
    table = boto3.client("dynamodb").scan(TableName=os.environ["MOTCUA_TABLE_NAME"])
    return json.dumps(table["Items"], ensure_ascii=False)


def stored_secrets(code: str = DESK) -> list[dict[str, Any]]:
    value = boto3.client("secretsmanager").get_secret_value(SecretId=f"motcua/lamdong/webhooks/{code}")
    secrets: list[dict[str, Any]] = json.loads(value["SecretString"])["secrets"]
    return secrets


def test_rotation_grace_period_and_retired_secrets(province: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime, timedelta

    from chalicelib.ops import agencies as agency_ops

    monkeypatch.setattr(cli, "use_local_stack", lambda state_dir: None)
    start = datetime.now(UTC)
    clock = {"now": start}
    monkeypatch.setattr(agency_ops, "now", lambda: clock["now"])
    monkeypatch.setattr(webhooks, "now", lambda: clock["now"])

    first = run("--local", "agency", "webhook", "set-url", "--agency", DESK, "http://127.0.0.1:9000/hooks")[1]
    first_secret = first.splitlines()[1]
    code, out, _ = run("agency", "webhook", "rotate-secret", "--agency", DESK, "--grace-hours", "2")
    second_secret = out.splitlines()[1]
    assert code == 0 and f"Until {start + timedelta(hours=2):%Y-%m-%d %H:%M} UTC (grace 2 h)" in out
    assert signing() == [second_secret, first_secret]
    assert [(s["secret"], s["retire_at"]) for s in stored_secrets()] == [
        (first_secret, (start + timedelta(hours=2)).isoformat(timespec="seconds")), (second_secret, None)]

    clock["now"] = start + timedelta(hours=1)
    assert signing() == [second_secret, first_secret]
    clock["now"] = start + timedelta(hours=2)  # the first one's grace is over: it no longer signs
    assert signing() == [second_secret]

    # The next rotation drops it from the secret; a zero grace stops the second one at once.
    code, out, _ = run("agency", "webhook", "rotate-secret", "--agency", DESK, "--grace-hours", "0")
    third_secret = out.splitlines()[1]
    assert code == 0 and "grace 0" in out and "Dropped 1 secret(s) retired earlier" in out
    assert signing() == [third_secret]
    assert [s["secret"] for s in stored_secrets()] == [third_secret]

    for hours in ("-1", "721", "nan", "inf", "many"):
        code, _, err = run("agency", "webhook", "rotate-secret", "--agency", DESK, "--grace-hours", hours)
        assert code == 2 and "--grace-hours" in err and ("must be between 0 and 720" in err or "not a number" in err)
    assert "whsec_" not in table_text()


def test_a_legacy_endpoint_still_signs_and_moves_to_secrets_manager_when_rotated(province: Path) -> None:
    from datetime import UTC, datetime

    from chalicelib.integrations.webhooks import new_secret

    legacy = new_secret()
    # An item as written before issue 6: the secret's value in the table.
    endpoints.WebhookEndpointItem(m.agency_pk(DESK), endpoints.WEBHOOK_SK, agency_code=DESK,
                                  url="https://agency.example.vn/hooks", secret=legacy,
                                  updated_at=datetime.now(UTC)).save()
    assert endpoint().secret_name is None and signing() == [legacy]
    assert "whsec_" in table_text()

    from chalicelib.ops.agencies import fingerprint

    code, out, _ = run("agency", "webhook", "rotate-secret", "--agency", DESK, "--replace", fingerprint(legacy))
    assert code == 0, out
    moved, rotated, new = out.splitlines()
    assert moved == (f"moved the webhook secret of agency {DESK} ({fingerprint(legacy)}) from the table to "
                     f"Secrets Manager (motcua/lamdong/webhooks/{DESK})")
    assert rotated.startswith(f"rotated the webhook secret of agency {DESK}: {fingerprint(legacy)} → ")
    assert endpoint().secret_name == f"motcua/lamdong/webhooks/{DESK}" and endpoint().legacy_secret is None
    assert signing() == [new, legacy]
    assert "whsec_" not in table_text()


def test_set_url_moves_a_legacy_secret_out_of_the_table(province: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    from chalicelib.integrations.webhooks import new_secret

    legacy = new_secret()
    endpoints.WebhookEndpointItem(m.agency_pk(DESK), endpoints.WEBHOOK_SK, agency_code=DESK,
                                  url="http://127.0.0.1:9000/hooks", secret=legacy,
                                  updated_at=datetime.now(UTC)).save()
    monkeypatch.setattr(cli, "use_local_stack", lambda state_dir: None)
    code, out, _ = run("--local", "agency", "webhook", "set-url", "--agency", DESK, "http://127.0.0.1:9000/hooks")
    assert code == 0 and out.splitlines()[0].startswith(f"moved the webhook secret of agency {DESK}")
    assert out.splitlines()[1] == f"no change: agency {DESK} already receives webhooks at http://127.0.0.1:9000/hooks"
    assert signing() == [legacy] and "whsec_" not in table_text()
    assert run("--local", "agency", "webhook", "set-url", "--agency", DESK, "http://127.0.0.1:9000/hooks")[1] == \
        f"no change: agency {DESK} already receives webhooks at http://127.0.0.1:9000/hooks\n"


def test_stats_export(province: Path, tmp_path: Path) -> None:
    m.StatsCounterItem(m.STATS_PK, m.stats_counter_sk("2026-11", DESK, 0), agency_code=DESK, month="2026-11",
                       submitted=3, online=3, done=2, approved=2, on_time=1, late=1, finished=2).save()
    target = tmp_path / "stats.csv"
    code, out, _ = run("stats", "export", "--month", "2026-11", "--out", str(target))
    assert code == 0 and out == f"wrote {target}: 3 agencies and the province total, month 2026-11\n"
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    records = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    desk = next(r for r in records if r["agency_code"] == DESK)
    assert (desk["name"], desk["submitted"], desk["on_time_rate"]) == (
        "Trung tâm Phục vụ hành chính công tỉnh Lâm Đồng", "3", "0.5")
    assert records[-1]["agency_code"] == "TOTAL" and records[-1]["in_progress"] == "1"
    assert run("stats", "export", "--month", "2026-11", "--out", str(target))[1].startswith("no change:")
    code, out, _ = run("stats", "export")
    assert code == 0 and out.startswith("month,agency_code,name")
    code, _, err = run("stats", "export", "--month", "2026-13")
    assert code == 2 and "--month must look like 2026-11" in err


def test_audit_verify_says_whether_a_dossiers_trail_is_intact(province: Path) -> None:
    from datetime import UTC, date, datetime

    from chalicelib.domain.dossiers import LogEntry, format_dossier_code
    from chalicelib.domain.workflow import DossierStatus
    from tests.factories import SAMPLE_SUBMITTED_AT, create_dossier

    store = get_store()
    dossier = store.create_dossier(
        create_dossier(DossierStatus.NEW, documents=()),
        LogEntry(SAMPLE_SUBMITTED_AT, "citizen", "submit", None, DossierStatus.NEW),
        make_code=lambda sequence: format_dossier_code(DESK, date(2026, 11, 26), sequence),
        counter_key=(DESK, "261126"))
    for key in ("k1", "k2", "k3"):
        store.audit_read(dossier.code, agency_code=DESK, key_id=key, at=datetime(2026, 11, 26, 3, tzinfo=UTC),
                         action="read")
    code, out, _ = run("audit", "verify", "--dossier", dossier.code)
    assert code == 0 and out.startswith(f"audit trail of {dossier.code} verifies: 3 line(s)")
    m.AuditItem(m.dossier_pk(dossier.code), m.audit_sk(2)).update(actions=[m.AuditItem.key_id.set("someone")])
    code, _, err = run("audit", "verify", "--dossier", dossier.code)
    assert code == 1 and "BROKEN at line 2 of 3: content changed after it was written" in err
    assert run("audit", "verify", "--dossier", "nonsense")[0] == 2
    assert run("audit", "verify", "--dossier", "000.00.21.H38-261126-9999")[0] == 2


def test_audit_reads_lists_what_an_agency_was_shown_on_one_day(province: Path) -> None:
    from datetime import timedelta

    from tests.factories import create_staff_read

    store = get_store()
    inbox = create_staff_read("000.00.21.H38-261126-0001", "000.00.21.H38-261126-0002", action="inbox")
    store.record_staff_read(inbox)
    store.record_staff_read(create_staff_read(read_id="next-day", at=inbox.at + timedelta(days=1)))
    code, out, _ = run("audit", "reads", "--agency", DESK, "--day", inbox.at.date().isoformat())
    assert code == 0
    assert out.splitlines() == [
        f"{inbox.at.isoformat()}\tkey-1\tinbox\t000.00.21.H38-261126-0001 000.00.21.H38-261126-0002",
        f"1 read(s) by {DESK} on 2026-11-26 (UTC)"]
    assert run("audit", "reads", "--agency", DESK, "--day", "26/11/2026")[0] == 2
    assert run("audit", "reads", "--agency", "000.00.99.H38", "--day", "2026-11-26")[0] == 2


def test_webhooks_redrive_moves_every_dead_letter_back_once(aws: dict[str, str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    sqs = boto3.client("sqs", region_name=os.environ["AWS_REGION"])
    dlq, queue = os.environ["MOTCUA_WEBHOOK_DLQ_URL"], os.environ["MOTCUA_WEBHOOK_QUEUE_URL"]
    # As an operator's shell has them: no queue URLs, the stage's province only (found by name).
    monkeypatch.delenv("MOTCUA_WEBHOOK_DLQ_URL")
    monkeypatch.delenv("MOTCUA_WEBHOOK_QUEUE_URL")
    assert run("webhooks", "redrive") == (0, f"no change: the webhook dead-letter queue {dlq} has no message to "
                                             "redrive\n", "")
    bodies = [json.dumps({"task_id": f"t{n}", "event": "task.assigned", "webhook_id": f"msg_t{n}_assigned",
                          "attempt": 1, "attempts_made": 8, "last_error": None, "last_status": 503,
                          "dead_letter_id": f"d{n}"}) for n in range(12)]
    bodies.append("not json")  # whatever is there goes back as it is
    for body in bodies:
        sqs.send_message(QueueUrl=dlq, MessageBody=body)

    code, out, err = run("webhooks", "redrive")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert sorted(lines[:-1]) == sorted([f"redriven: task.assigned of task t{n}, 8 attempt(s) made, last: 503"
                                         for n in range(12)] + ["redriven: a message that is not JSON"])
    assert lines[-1] == f"moved 13 message(s) from the webhook dead-letter queue {dlq} to the webhook queue {queue}"
    moved = []
    while received := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        moved += [message["Body"] for message in received]
        for message in received:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert sorted(moved) == sorted(bodies)
    assert run("webhooks", "redrive")[1].startswith("no change:")


def test_webhooks_redrive_without_the_queues_is_a_usage_error(aws: dict[str, str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOTCUA_WEBHOOK_DLQ_URL")
    monkeypatch.setenv("MOTCUA_PROVINCE", "atlantis")  # no such province's queues
    code, out, err = run("webhooks", "redrive")
    assert (code, out) == (2, "") and "no queue motcua-atlantis-webhooks-dlq" in err

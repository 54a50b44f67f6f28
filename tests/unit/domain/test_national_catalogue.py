"""Reading a national procedure database export and merging it onto procedures.json."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.catalogue import CatalogueError, parse_catalogue
from chalicelib.domain.national_catalogue import (
    ExportError,
    ExportRow,
    column_key,
    merge_export,
    parse_csv,
    parse_days,
    parse_fee,
    parse_json,
    parse_legal_basis,
    parse_level,
    problem_for,
    read_export,
)
from tests.factories import COMMUNE, DESK, create_catalogue, create_procedure_dict

TIERS = {"province": "Cấp tỉnh", "commune": "Cấp xã"}
HEADER = 'Mã thủ tục,Tên thủ tục,Cấp thực hiện,Lĩnh vực,Cơ quan thực hiện,Mức độ,"Phí, lệ phí",Thời hạn giải quyết'


def create_base() -> dict[str, Any]:
    return {
        "sources": {"law": "Luật Lý lịch tư pháp số 28/2009/QH12 ngày 17/6/2009"},
        "procedures": [
            create_procedure_dict(),
            create_procedure_dict("1.001193", level=3, fee_vnd=0, agency=COMMUNE, tier="commune", days=3,
                                  name="Đăng ký khai sinh"),
        ],
    }


def merge(rows: list[ExportRow], **options: Any):
    return merge_export(rows, create_base(), tiers=TIERS, agencies=create_catalogue().agencies, **options)


def row(label: str = "row 2", **values: Any) -> ExportRow:
    base = {"ma_thu_tuc": "2.000488", "ten_thu_tuc": "Cấp Phiếu lý lịch tư pháp"}
    base.update(values)
    return ExportRow(label, base)


def problems(rows: list[ExportRow]) -> list[str]:
    with pytest.raises(ExportError) as raised:
        merge(rows)
    return [str(problem) for problem in raised.value.problems]


def test_column_keys_ignore_case_diacritics_and_punctuation() -> None:
    assert column_key("Phí, lệ phí") == "phi_le_phi"
    assert column_key("  MÃ THỦ TỤC ") == "ma_thu_tuc"
    assert column_key("Căn cứ pháp lý") == "can_cu_phap_ly"


def test_a_csv_row_is_merged_onto_its_procedures_json_entry() -> None:
    text = ("\ufeff" + HEADER + ",Căn cứ pháp lý,Trình tự thực hiện\n"
            '2.000488,Cấp Phiếu lý lịch tư pháp (mới),Cấp Tỉnh,Lý lịch tư pháp,'
            'Trung tâm Phục vụ hành chính công tỉnh Lâm Đồng,'
            'Mức độ 4,"Phí: 250.000 đồng/lần",12 ngày làm việc,'
            '"Luật Lý lịch tư pháp số 28/2009/QH12\nThông tư số 244/2016/TT-BTC",Bước 1...\n')
    rows = parse_csv(text)
    assert [r.label for r in rows] == ["row 2"]
    result = merge(rows)
    (procedure,) = result.document["procedures"]
    assert procedure["name"] == "Cấp Phiếu lý lịch tư pháp (mới)"
    assert procedure["fee_vnd"] == 250000 and procedure["level"] == 4 and procedure["tier"] == "province"
    # The last processing step takes the difference: 1 (reception) + 11.
    assert procedure["processing_days"] == 12 and procedure["route"][-1]["days"] == 11
    assert procedure["legal_basis"] == ["law", "244_2016_tt-btc"]
    assert result.document["sources"]["244_2016_tt-btc"] == "Thông tư số 244/2016/TT-BTC"
    assert "form_schema" in procedure and procedure["required_documents"]  # from procedures.json
    # The second procedure of procedures.json is not in the export: not in the result.
    assert [p["code"] for p in result.document["procedures"]] == ["2.000488"]
    catalogue = parse_catalogue(
        {"code": "lamdong", "name": "Lâm Đồng", "tiers": [{"code": c, "name": n} for c, n in TIERS.items()]},
        {"agencies": [{"code": a.code, "name": a.name, "tier": a.tier} for a in create_catalogue().agencies]},
        result.document)
    assert [p.code for p in catalogue.procedures] == ["2.000488"]


def test_empty_cells_and_absent_columns_keep_the_entry_values() -> None:
    result = merge([row(phi_le_phi="", muc_do=None)])
    (procedure,) = result.document["procedures"]
    assert procedure == {**create_procedure_dict(), "name": "Cấp Phiếu lý lịch tư pháp"}


def test_json_export_uses_the_same_keys() -> None:
    rows = parse_json(json.dumps([{"ma_thu_tuc": "1.001193", "ten_thu_tuc": "Đăng ký khai sinh",
                                   "phi_le_phi": 0, "thoi_han_giai_quyet": 3, "muc_do": 3, "stt": 1}]))
    assert rows[0].label == "item 1"
    (procedure,) = merge(rows).document["procedures"]
    assert procedure["code"] == "1.001193" and procedure["processing_days"] == 3


def test_unlisted_procedures_are_kept_on_request() -> None:
    kept = create_catalogue().procedures[1:2]  # 1.001193, as the table holds it
    result = merge([row()], keep=kept)
    assert [p["code"] for p in result.document["procedures"]] == ["2.000488", "1.001193"]


@pytest.mark.parametrize(("text", "amount"), [
    ("8.000", 8000), ("8,000 đồng", 8000), ("Lệ phí: 200.000 đồng/lần", 200000), ("Không", 0),
    ("Miễn phí", 0), ("0", 0), ("1500000", 1500000), (20000, 20000),
])
def test_fees(text: Any, amount: int) -> None:
    assert parse_fee(text) == amount


@pytest.mark.parametrize(("text", "days"), [
    ("10", 10), ("10 ngày làm việc", 10), ("0,5 ngày làm việc", 0.5), ("4 giờ làm việc", 0.5), (7, 7),
    ("05 Ngày làm việc.", 5),
])
def test_days(text: Any, days: float) -> None:
    assert parse_days(text) == days


@pytest.mark.parametrize(("text", "level"), [("4", 4), ("Mức độ 3", 3), ("Toàn trình", 4), ("Một phần", 3), (2, 2)])
def test_levels(text: Any, level: int) -> None:
    assert parse_level(text) == level


def test_legal_texts_map_to_sources_by_document_number() -> None:
    sources = {"nd_123_2015": "Nghị định số 123/2015/NĐ-CP ngày 15/11/2015"}
    ids = parse_legal_basis("Nghị định 123/2015/NĐ-CP; Luật Hộ tịch số 60/2014/QH13", sources)
    assert ids == ["nd_123_2015", "60_2014_qh13"]
    assert sources["60_2014_qh13"] == "Luật Hộ tịch số 60/2014/QH13"


@pytest.mark.parametrize(("values", "expected"), [
    ({"phi_le_phi": "8.000 đồng, trực tuyến 4.000 đồng"}, "row 2: Phí, lệ phí: '8.000 đồng, trực tuyến 4.000 đồng' "
                                                          "names several amounts (4,000, 8,000)"),
    ({"phi_le_phi": "theo quy định"}, "row 2: Phí, lệ phí: 'theo quy định' names no amount"),
    ({"thoi_han_giai_quyet": "15 ngày"}, "row 2: Thời hạn giải quyết: '15 ngày' counts calendar time"),
    ({"thoi_han_giai_quyet": "Trong ngày"}, "row 2: Thời hạn giải quyết: 'Trong ngày' is not a time limit"),
    ({"thoi_han_giai_quyet": "0,5"}, "row 2: Thời hạn giải quyết: 0.5 working days leaves nothing"),
    ({"muc_do": "5"}, "row 2: Mức độ: '5' is not a service level"),
    ({"cap_thuc_hien": "Cấp Huyện"}, "row 2: Cấp thực hiện: unknown level of government 'Cấp Huyện'"),
    ({"cap_thuc_hien": "Cấp tỉnh, Cấp xã"}, "row 2: Cấp thực hiện: 'Cấp tỉnh, Cấp xã': expected exactly one tier"),
    ({"can_cu_phap_ly": "Một văn bản không số"}, "row 2: Căn cứ pháp lý: 'Một văn bản không số' names no document"),
    ({"co_quan_thuc_hien": "UBND phường Xuân Hương - Đà Lạt"}, "row 2: Cơ quan thực hiện: names agency "
                                                               f"{COMMUNE}, but procedures.json has 2.000488 "
                                                               f"received by {DESK}"),
    ({"ma_thu_tuc": "9.999999"}, "row 2: Mã thủ tục: 9.999999 has no entry in procedures.json"),
    ({"ma_thu_tuc": "abc"}, "row 2: Mã thủ tục: 'abc' is not a procedure code"),
    ({"ten_thu_tuc": " "}, "row 2: Tên thủ tục: must not be empty"),
    # Figures no procedure has (and some no float or int holds): refused, not a traceback.
    ({"phi_le_phi": "1" * 5000}, "row 2: Phí, lệ phí: '1111"),
    ({"phi_le_phi": 1e300}, "row 2: Phí, lệ phí: 1e+300: more than 100,000,000,000 đồng"),
    ({"thoi_han_giai_quyet": "9" * 400 + " ngày làm việc"}, "row 2: Thời hạn giải quyết: '9999"),
    ({"thoi_han_giai_quyet": 1e6}, "row 2: Thời hạn giải quyết: '1000000.0': more than 2,500 working days"),
])
def test_each_kind_of_bad_row_is_refused_with_row_column_and_problem(values: dict[str, Any], expected: str) -> None:
    (message,) = problems([row(**values)])
    assert message.startswith(expected), message


def test_every_refused_row_is_listed_and_duplicates_are_refused() -> None:
    listed = problems([row("row 2", muc_do="7"), row("row 3"), row("row 4"), row("row 5", phi_le_phi="x")])
    assert [m.split(":")[0] for m in listed] == ["row 2", "row 4", "row 5"]
    assert "2.000488 is also on row 3" in listed[1]


def test_an_agency_text_naming_no_single_agency_is_a_note() -> None:
    result = merge([row(co_quan_thuc_hien="Ủy ban nhân dân cấp xã")])
    assert result.notes and "names no single agency" in result.notes[0]


def test_file_level_problems(tmp_path: Path) -> None:
    for text, expected in (
        ("Mã thủ tục,Tên thủ tục,Phi le phi x\n", "row 1: Phi le phi x: unknown column"),
        ("Mã thủ tục,Mức độ\n", "row 1: Tên thủ tục: missing required column"),
        ("Mã thủ tục,Tên thủ tục,MÃ THỦ TỤC\n", "row 1: MÃ THỦ TỤC: duplicate column"),
        ("Mã thủ tục,Tên thủ tục\n1.001193\n", "row 2: has 1 cells, the header row 2"),
    ):
        with pytest.raises(ExportError) as raised:
            parse_csv(text)
        assert str(raised.value).startswith(expected), str(raised.value)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"M\xe3 th\xf9 t\xf9c,T\xean\n")  # Latin-1, not UTF-8
    with pytest.raises(ExportError, match="not UTF-8"):
        read_export(latin)
    with pytest.raises(ExportError, match=r"expected a \.csv or \.json"):
        read_export(tmp_path / "export.xlsx")
    with pytest.raises(ExportError, match="item 1: muc_do_x: unknown column"):
        parse_json('[{"ma_thu_tuc": "1", "ten_thu_tuc": "x", "muc_do_x": 1}]')
    # A key given twice would lose one of its values; NaN and Infinity are no figures.
    with pytest.raises(ExportError, match="duplicate key 'phi_le_phi'"):
        parse_json('[{"ma_thu_tuc": "1", "ten_thu_tuc": "x", "phi_le_phi": 8000, "phi_le_phi": ""}]')
    for literal in ("NaN", "Infinity", "-Infinity", "1e400"):
        with pytest.raises(ExportError, match="expected a finite number"):
            parse_json(f'[{{"ma_thu_tuc": "1", "ten_thu_tuc": "x", "phi_le_phi": {literal}}}]')


def test_semicolon_separated_csv() -> None:
    (parsed,) = parse_csv("Mã thủ tục;Tên thủ tục;Phí, lệ phí\n2.000488;Tên;8.000\n")
    assert parsed.values["phi_le_phi"] == "8.000"


def test_a_catalogue_check_failing_on_a_merged_row_names_the_row_and_column() -> None:
    base = create_base()
    result = merge([row(muc_do="1")])  # a level 1 procedure has no form: parse_catalogue refuses
    procedures = copy.deepcopy(result.document)
    with pytest.raises(CatalogueError) as raised:
        parse_catalogue(
            {"code": "lamdong", "name": "x", "tiers": [{"code": c, "name": n} for c, n in TIERS.items()]},
            {"agencies": [{"code": a.code, "name": a.name, "tier": a.tier} for a in create_catalogue().agencies]},
            procedures)
    problem = problem_for(raised.value, result.rows)
    assert problem.row == "row 2" and problem.column == "Mức độ"
    assert base["procedures"][0]["level"] == 4

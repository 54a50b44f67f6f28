"""Importing a province's procedures from an export of the national procedure database.

The national database (Cơ sở dữ liệu quốc gia về thủ tục hành chính, csdl.dichvucong.gov.vn)
publishes each procedure's code, name, level of government, field, agency, fees, time limit
and legal basis. It does not hold what this system also needs to run a procedure online
(the form's JSON Schema, the route between agencies, the required documents as ids, the
form templates): those come from the province's ``procedures.json`` entry with the same code.
Pure Python; ``python -m chalicelib.ops catalogue import`` reads, merges, validates with
:func:`chalicelib.domain.catalogue.parse_catalogue` and writes. Documented for ops in
``docs/ops-catalogue-import.md``.

Accepted files
--------------
- **CSV** (``.csv``): UTF-8 (a byte-order mark is fine: Excel's "CSV UTF-8" writes one), one
  header row then one row per procedure; the separator is ``,`` (or ``;`` or a tab, whichever
  the header row uses). Cells may span several lines when quoted.
- **JSON** (``.json``): a list of objects, one per procedure, whose keys are the column keys
  below. Values are strings, or numbers for level, fee and time limit.

Headers are matched without regard to case, diacritics, punctuation or spacing: a header is
reduced to its key (``"Phí, lệ phí"`` → ``phi_le_phi``), and JSON uses the keys directly.

=============================  =======================  ==============================================
CSV header                     JSON key                 becomes (empty cell or absent column: the
                                                        procedures.json entry's value is kept)
=============================  =======================  ==============================================
Mã thủ tục (required)          ma_thu_tuc               ``code``; ``[0-9A-Z.]+``, e.g. ``1.001193``;
                                                        once per file
Tên thủ tục (required)         ten_thu_tuc              ``name``; must not be empty
Cấp thực hiện                  cap_thuc_hien            ``tier``: one of the province's tiers, by name
                                                        (``Cấp tỉnh``, ``Cấp xã``) or code; several
                                                        tiers in one cell are refused
Lĩnh vực                       linh_vuc                 ``field``
Cơ quan thực hiện              co_quan_thuc_hien        checked, not copied: an agency code or an
                                                        agency's exact name (diacritics-insensitive)
                                                        that differs from the entry's receiving agency
                                                        is refused (the route comes from
                                                        procedures.json); a text naming no single
                                                        agency ("UBND cấp xã") is ignored, with a note
Mức độ                         muc_do                   ``level``: ``1``..``4``, ``Mức độ 3``,
                                                        ``Toàn trình`` (4), ``Một phần`` (3)
Phí, lệ phí                    phi_le_phi               ``fee_vnd``: one amount in đồng (``8.000``,
                                                        ``8,000 đồng``, ``Lệ phí: 8.000 đồng/bản``),
                                                        or ``Không`` / ``Miễn phí`` / ``0``;
                                                        several different amounts are refused
Thời hạn giải quyết            thoi_han_giai_quyet      ``processing_days``: ``10``,
                                                        ``10 ngày làm việc``, ``0,5 ngày làm việc``,
                                                        ``4 giờ làm việc`` (8 h = 1 day); calendar days
                                                        (``15 ngày``) are refused. When it changes, the
                                                        route's last processing step (without parallel
                                                        branches) takes the difference and must keep
                                                        a positive number of days
Căn cứ pháp lý                 can_cu_phap_ly           ``legal_basis``: one legal text per line (or
                                                        separated by ``;``). A text whose document
                                                        number (``123/2015/NĐ-CP``) appears in the title
                                                        of a source of procedures.json is that source;
                                                        another number becomes a new source (id from the
                                                        number, ``123_2015_nd-cp``, title the text); a
                                                        text with no number must equal a source's title
=============================  =======================  ==============================================

These columns of the national export are recognised and ignored: STT, Số quyết định, Loại
thủ tục, Trình tự thực hiện, Cách thức thực hiện, Thành phần hồ sơ, Đối tượng thực hiện,
Cơ quan có thẩm quyền, Địa chỉ tiếp nhận hồ sơ, Cơ quan được ủy quyền, Cơ quan phối hợp,
Kết quả thực hiện, Yêu cầu, điều kiện thực hiện, Từ khóa, Mô tả. Any other column is refused
(a misspelt header must not silently keep the old values).

A row is refused, with its row number (the spreadsheet's: the header is row 1; ``item N``
in JSON), the column and the problem, when a value cannot be read, when its code has no
procedures.json entry, or when the merged procedure fails the catalogue's checks. One refused
row refuses the whole import: nothing is written.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.domain.catalogue import (
    Agency,
    CatalogueError,
    Procedure,
    procedure_to_dict,
    reject_duplicate_keys,
)
from chalicelib.domain.text import fold

# --- columns ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str  # JSON key, and the key a CSV header reduces to
    header: str  # the national export's Vietnamese header


CODE = Column("ma_thu_tuc", "Mã thủ tục")
NAME = Column("ten_thu_tuc", "Tên thủ tục")
TIER = Column("cap_thuc_hien", "Cấp thực hiện")
FIELD = Column("linh_vuc", "Lĩnh vực")
AGENCY = Column("co_quan_thuc_hien", "Cơ quan thực hiện")
LEVEL = Column("muc_do", "Mức độ")
FEE = Column("phi_le_phi", "Phí, lệ phí")
DAYS = Column("thoi_han_giai_quyet", "Thời hạn giải quyết")
LEGAL = Column("can_cu_phap_ly", "Căn cứ pháp lý")

COLUMNS: tuple[Column, ...] = (CODE, NAME, TIER, FIELD, AGENCY, LEVEL, FEE, DAYS, LEGAL)
REQUIRED: tuple[Column, ...] = (CODE, NAME)
IGNORED_HEADERS: tuple[str, ...] = (
    "STT", "Số quyết định", "Loại thủ tục", "Trình tự thực hiện", "Cách thức thực hiện", "Thành phần hồ sơ",
    "Đối tượng thực hiện", "Cơ quan có thẩm quyền", "Địa chỉ tiếp nhận hồ sơ", "Cơ quan được ủy quyền",
    "Cơ quan phối hợp", "Kết quả thực hiện", "Yêu cầu, điều kiện thực hiện", "Từ khóa", "Mô tả",
)
_BY_KEY = {column.key: column for column in COLUMNS}


def column_key(header: str) -> str:
    """``"Phí, lệ phí"`` → ``phi_le_phi``: case, diacritics, punctuation and spacing do not count."""
    return re.sub(r"[^a-z0-9]+", "_", fold(unicodedata.normalize("NFC", header))).strip("_")


_IGNORED_KEYS = frozenset(column_key(header) for header in IGNORED_HEADERS)

# --- errors ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Why a row is refused: where (``row 5`` / ``item 3``), which column, what."""

    row: str
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.row}: {self.column}: {self.message}" if self.column else f"{self.row}: {self.message}"


class ExportError(ValueError):
    """The export cannot be imported; ``problems`` lists every refused row (or the file's problem)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))


# --- reading ---------------------------------------------------------------------------

Value = str | int | float | None


@dataclass(frozen=True)
class ExportRow:
    label: str  # "row 2" (CSV, as a spreadsheet numbers it) or "item 1" (JSON)
    values: Mapping[str, Value]  # by column key; absent columns are absent

    def text(self, column: Column) -> str:
        value = self.values.get(column.key)
        return "" if value is None else str(value).strip()


def read_export(path: Path) -> list[ExportRow]:
    """Reads a CSV or JSON export (by its extension); raises ExportError naming what is wrong."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise ExportError([Problem(path.name, "", "expected a .csv or .json export")])
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ExportError([Problem(path.name, "", f"cannot read: {error.strerror or error}")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ExportError([Problem(path.name, "", "not UTF-8: save the export as \"CSV UTF-8\"")]) from None
    return parse_csv(text, name=path.name) if suffix == ".csv" else parse_json(text, name=path.name)


def _check_keys(keys: Iterable[tuple[str, str]], where: str) -> None:
    """``keys``: (key, as written). Unknown, duplicate and missing required columns are refused."""
    seen: dict[str, str] = {}
    for key, written in keys:
        if key in seen:
            raise ExportError([Problem(where, written, f"duplicate column (also {seen[key]!r})")])
        if key not in _BY_KEY and key not in _IGNORED_KEYS:
            raise ExportError([Problem(where, written, "unknown column; see docs/ops-catalogue-import.md")])
        seen[key] = written
    for column in REQUIRED:
        if column.key not in seen:
            raise ExportError([Problem(where, column.header, "missing required column")])


def parse_csv(text: str, *, name: str = "export.csv") -> list[ExportRow]:
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = list(reader)
    except csv.Error as error:
        raise ExportError([Problem(name, "", f"not a valid CSV file: {error}")]) from None
    if not records or not any(cell.strip() for cell in records[0]):
        raise ExportError([Problem(name, "", "empty file: expected a header row")])
    headers = [cell.strip() for cell in records[0]]
    keys = [column_key(header) for header in headers]
    _check_keys(zip(keys, headers, strict=True), "row 1")
    rows: list[ExportRow] = []
    for index, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # blank lines, and Excel's trailing empty rows
        label = f"row {index}"
        if len(record) != len(headers):
            raise ExportError([Problem(label, "", f"has {len(record)} cells, the header row {len(headers)}")])
        rows.append(ExportRow(label, {key: value for key, value in zip(keys, record, strict=True)
                                      if key in _BY_KEY}))
    return rows


def parse_json(text: str, *, name: str = "export.json") -> list[ExportRow]:
    try:
        data = json.loads(text, object_pairs_hook=reject_duplicate_keys)
    except ValueError as error:
        raise ExportError([Problem(name, "", f"invalid JSON: {error}")]) from None
    if not isinstance(data, list):
        raise ExportError([Problem(name, "", "expected a JSON list of procedures")])
    rows: list[ExportRow] = []
    for index, item in enumerate(data, start=1):
        label = f"item {index}"
        if not isinstance(item, dict):
            raise ExportError([Problem(label, "", "expected an object")])
        _check_keys(((str(key), str(key)) for key in item), label)
        values: dict[str, Value] = {}
        for key, value in item.items():
            if key not in _BY_KEY:
                continue
            if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int, float))):
                raise ExportError([Problem(label, _BY_KEY[key].header, "expected a string or a number")])
            if isinstance(value, float) and not math.isfinite(value):  # NaN, Infinity, 1e400
                raise ExportError([Problem(label, _BY_KEY[key].header, f"expected a finite number, got {value!r}")])
            values[key] = value
        rows.append(ExportRow(label, values))
    return rows


# --- values ----------------------------------------------------------------------------


class _Refused(ValueError):
    pass


_NO_FEE = ("khong", "khong co", "khong thu", "mien phi", "mien", "mien le phi", "mien phi, le phi", "0")
_AMOUNT = re.compile(r"\d{1,3}(?:[.,]\d{3})+|\d+")
# No procedure's fee comes near: a larger figure is a typo, or a column taken for another.
MAX_FEE_VND = 100_000_000_000
# A time limit beyond ten years of working days is a typo too (and a huge one does not fit a float).
MAX_DAYS = 2_500


def parse_fee(value: Value) -> int:
    """One amount in đồng (thousands separated by ``.`` or ``,``), or none ("Không", "Miễn phí")."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value) or value < 0 or value != int(value):
            raise _Refused(f"{value!r} is not a whole, non-negative amount of đồng")
        return _fee_in_range(int(value), value)
    text = fold(str(value)).strip(" .")
    if text in _NO_FEE:
        return 0
    digits = [re.sub(r"[.,]", "", match) for match in _AMOUNT.findall(text)]
    if any(len(number) > len(str(MAX_FEE_VND)) for number in digits):
        raise _Refused(f"{str(value)[:40]!r}…: more than {MAX_FEE_VND:,} đồng is not a procedure's fee")
    amounts = {int(number) for number in digits}
    if not amounts:
        raise _Refused(f"{value!r} names no amount (write e.g. \"8.000 đồng\", or \"Không\")")
    if len(amounts) > 1:
        raise _Refused(f"{value!r} names several amounts ({', '.join(f'{a:,}' for a in sorted(amounts))}); "
                       "keep the one this procedure charges")
    return _fee_in_range(amounts.pop(), value)


def _fee_in_range(amount: int, value: Value) -> int:
    if amount > MAX_FEE_VND:
        raise _Refused(f"{value!r}: more than {MAX_FEE_VND:,} đồng is not a procedure's fee")
    return amount


_DAYS = re.compile(r"(\d+(?:[.,]\d+)?)\s*(ngay lam viec|gio lam viec|ngay|gio)?")


def parse_days(value: Value) -> float:
    """Working days: a number, ``N ngày làm việc`` or ``N giờ làm việc`` (8 working hours a day)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        days = float(value)
    else:
        text = fold(str(value)).strip(" .")
        match = _DAYS.fullmatch(text)
        if match is None:
            raise _Refused(f"{value!r} is not a time limit in working days (e.g. \"10 ngày làm việc\")")
        number = float(match.group(1).replace(",", "."))
        unit = match.group(2) or "ngay lam viec"
        if unit in ("ngay", "gio"):
            raise _Refused(f"{value!r} counts calendar time; the catalogue counts working days "
                           "(write \"N ngày làm việc\")")
        days = number / 8 if unit == "gio lam viec" else number
    if not days > 0:
        raise _Refused(f"{value!r}: the time limit must be positive")
    if not days <= MAX_DAYS:  # also NaN and infinity
        raise _Refused(f"{str(value)[:40]!r}: more than {MAX_DAYS:,} working days is not a time limit")
    return days


_LEVEL_WORDS = {"toan trinh": 4, "dich vu cong truc tuyen toan trinh": 4, "dvc truc tuyen toan trinh": 4,
                "mot phan": 3, "dich vu cong truc tuyen mot phan": 3, "dvc truc tuyen mot phan": 3}
_LEVEL = re.compile(r"(?:muc do|muc)?\s*([1-4])")


def parse_level(value: Value) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 4:
        return value
    text = fold(str(value)).strip(" .")
    if text in _LEVEL_WORDS:
        return _LEVEL_WORDS[text]
    match = _LEVEL.fullmatch(text)
    if match is None:
        raise _Refused(f"{value!r} is not a service level (1-4, \"Mức độ 3\", \"Toàn trình\", \"Một phần\")")
    return int(match.group(1))


def parse_tier(value: Value, tiers: Mapping[str, str]) -> str:
    """``tiers``: tier code → name (province.json). One tier, by name or code."""
    by_text = {fold(name): code for code, name in tiers.items()}
    by_text.update({fold(code): code for code in tiers})
    found: list[str] = []
    for part in re.split(r"[,;\n]", str(value)):
        if not part.strip():
            continue
        code = by_text.get(fold(part))
        if code is None:
            raise _Refused(f"unknown level of government {part.strip()!r}; the province's tiers are "
                           + ", ".join(f"{name} ({code})" for code, name in tiers.items()))
        if code not in found:
            found.append(code)
    if len(found) != 1:
        raise _Refused(f"{value!r}: expected exactly one tier, got {len(found)}")
    return found[0]


_DOCUMENT_NUMBER = re.compile(r"\d+/\d{4}/[0-9A-Za-zĐđ]+(?:-[0-9A-Za-zĐđ]+)*")


def source_id_for(number: str) -> str:
    """A new source's id from its document number: ``123/2015/NĐ-CP`` → ``123_2015_nd-cp``."""
    return fold(number).replace("/", "_")


def parse_legal_basis(value: Value, sources: dict[str, str]) -> list[str]:
    """Source ids for the legal texts listed; new documents are added to ``sources``."""
    ids: list[str] = []
    by_number: dict[str, str] = {}
    for source_id, title in sources.items():
        for number in _DOCUMENT_NUMBER.findall(title):
            by_number.setdefault(fold(number), source_id)
    by_title = {fold(title): source_id for source_id, title in sources.items()}
    for entry in re.split(r"[;\n]", str(value)):
        entry = " ".join(entry.split()).strip(" -•+.")
        if not entry:
            continue
        numbers = _DOCUMENT_NUMBER.findall(entry)
        if not numbers:
            known = by_title.get(fold(entry))
            if known is None:
                raise _Refused(f"{entry!r} names no document number (such as 123/2015/NĐ-CP) and is no "
                               "source's title in procedures.json")
            numbers_ids = [known]
        else:
            numbers_ids = []
            for number in numbers:
                found = by_number.get(fold(number))
                if found is None:
                    found = source_id_for(number)
                    sources.setdefault(found, entry)
                    by_number[fold(number)] = found
                numbers_ids.append(found)
        ids.extend(source_id for source_id in numbers_ids if source_id not in ids)
    if not ids:
        raise _Refused(f"{value!r} lists no legal text")
    return ids


# --- merging ---------------------------------------------------------------------------


@dataclass
class MergeResult:
    """The procedures document to validate, which row each code came from, and notes."""

    document: dict[str, Any]  # procedures.json shape: {"sources": …, "procedures": […]}
    rows: dict[str, ExportRow]  # procedure code → its row
    notes: list[str] = field(default_factory=list)


def merge_export(
    rows: Sequence[ExportRow],
    base: Mapping[str, Any],
    *,
    tiers: Mapping[str, str],
    agencies: Sequence[Agency],
    keep: Sequence[Procedure] = (),
) -> MergeResult:
    """Each row onto the procedures.json entry of its code (``base``: procedures.json's content).

    ``keep``: procedures the export does not list that stay in the catalogue (as the table holds
    them). Raises ExportError listing every refused row; the result still goes through
    ``parse_catalogue``, whose errors :func:`problem_for` maps back to a row and column.
    """
    sources: dict[str, str] = {str(k): str(v) for k, v in dict(base.get("sources") or {}).items()}
    entries = {str(entry.get("code")): entry for entry in base.get("procedures") or [] if isinstance(entry, dict)}
    agency_by_text: dict[str, list[str]] = {}
    for agency in agencies:
        for text in (agency.code, agency.name, agency.name_en):
            if text:
                agency_by_text.setdefault(fold(text), []).append(agency.code)
    problems: list[Problem] = []
    notes: list[str] = []
    merged: list[dict[str, Any]] = []
    by_code: dict[str, ExportRow] = {}
    for row in rows:
        try:
            procedure = _merge_row(row, entries, sources, tiers, agency_by_text, notes)
        except _RowProblem as problem:
            problems.append(Problem(row.label, problem.column, str(problem)))
            continue
        code = str(procedure["code"])
        if code in by_code:
            problems.append(Problem(row.label, CODE.header, f"{code} is also on {by_code[code].label}"))
            continue
        by_code[code] = row
        merged.append(procedure)
    if problems:
        raise ExportError(problems)
    if not merged:
        raise ExportError([Problem("export", "", "lists no procedure")])
    for unlisted in keep:
        if unlisted.code in by_code:
            continue
        kept = procedure_to_dict(unlisted)
        for source_id, title in kept.pop("source_titles").items():
            sources.setdefault(source_id, title)
        kept.pop("interagency")
        merged.append(kept)
    return MergeResult({"sources": sources, "procedures": merged}, by_code, notes)


class _RowProblem(ValueError):
    def __init__(self, column: Column, message: str) -> None:
        super().__init__(message)
        self.column = column.header


def _merge_row(row: ExportRow, entries: Mapping[str, Any], sources: dict[str, str], tiers: Mapping[str, str],
               agency_by_text: Mapping[str, list[str]], notes: list[str]) -> dict[str, Any]:
    code = row.text(CODE)
    if not code:
        raise _RowProblem(CODE, "must not be empty")
    if not re.fullmatch(r"[0-9A-Z.]+", code):
        raise _RowProblem(CODE, f"{code!r} is not a procedure code (digits, capitals and dots, e.g. 1.001193)")
    entry = entries.get(code)
    if entry is None:
        raise _RowProblem(CODE, f"{code} has no entry in procedures.json: the export has no form schema, route "
                                "or required documents; add the procedure there first")
    procedure: dict[str, Any] = copy.deepcopy(dict(entry))
    procedure.pop("interagency", None)  # derived from the route
    name = row.text(NAME)
    if not name:
        raise _RowProblem(NAME, "must not be empty")
    procedure["name"] = name
    readers: tuple[tuple[Column, Any], ...] = (
        (TIER, lambda value: parse_tier(value, tiers)),
        (LEVEL, parse_level),
        (FEE, parse_fee),
        (DAYS, parse_days),
        (LEGAL, lambda value: parse_legal_basis(value, sources)),
    )
    values: dict[str, Any] = {}
    for column, read in readers:
        raw = row.values.get(column.key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        try:
            values[column.key] = read(raw)
        except _Refused as refused:
            raise _RowProblem(column, str(refused)) from None
    if TIER.key in values:
        procedure["tier"] = values[TIER.key]
    if LEVEL.key in values:
        procedure["level"] = values[LEVEL.key]
    if FEE.key in values:
        procedure["fee_vnd"] = values[FEE.key]
    if LEGAL.key in values:
        procedure["legal_basis"] = values[LEGAL.key]
    if FIELD.key in row.values and row.text(FIELD):
        procedure["field"] = row.text(FIELD)
    if DAYS.key in values:
        _set_days(procedure, values[DAYS.key])
    agency_text = row.text(AGENCY)
    if agency_text:
        matches = agency_by_text.get(fold(agency_text), [])
        if len(set(matches)) == 1:
            if matches[0] != procedure.get("agency_code"):
                raise _RowProblem(AGENCY, f"names agency {matches[0]}, but procedures.json has {code} received "
                                          f"by {procedure.get('agency_code')} (its route comes from there: "
                                          "change it in procedures.json)")
        else:
            notes.append(f"{row.label}: {AGENCY.header} {agency_text!r} names no single agency of the "
                         f"province; {code} stays with {procedure.get('agency_code')}")
    return procedure


def _set_days(procedure: dict[str, Any], days: float) -> None:
    current = procedure.get("processing_days")
    if isinstance(current, (int, float)) and abs(float(current) - days) < 1e-9:
        return
    route = procedure.get("route")
    steps = [step for step in route if isinstance(step, dict)] if isinstance(route, list) else []
    candidates = [index for index, step in enumerate(steps)
                  if step.get("kind") == "processing" and not step.get("parallel")]
    if not candidates:
        raise _RowProblem(DAYS, f"{days:g} working days, but the route in procedures.json has no processing "
                                "step without parallel branches to take the difference; change it there")
    last = candidates[-1]
    others = 0.0
    for index, step in enumerate(steps):
        if index == last or step.get("kind") == "payment":
            continue
        branches = [b.get("days", 0) for b in step.get("parallel") or [] if isinstance(b, dict)]
        others += max([float(step.get("days", 0)), *(float(b) for b in branches)])
    remaining = days - others
    if remaining <= 0:
        raise _RowProblem(DAYS, f"{days:g} working days leaves nothing for the last processing step (the "
                                f"route's other steps take {others:g} in procedures.json)")
    steps[last]["days"] = int(remaining) if remaining == int(remaining) else remaining
    procedure["processing_days"] = int(days) if days == int(days) else days


# Which column a catalogue check on a merged procedure points back to.
_FIELD_COLUMNS: tuple[tuple[str, Column], ...] = (
    ("code", CODE), ("name", NAME), ("tier", TIER), ("agency_code", AGENCY), ("level", LEVEL),
    ("form_schema", LEVEL), ("templates", LEVEL), ("fee_vnd", FEE), ("fee_exemptions", FEE),
    ("processing_days", DAYS), ("legal_basis", LEGAL), ("sources", LEGAL), ("field", FIELD),
)


def problem_for(error: CatalogueError, rows: Mapping[str, ExportRow]) -> Problem:
    """A catalogue check's error on the merged catalogue, told as a problem of the export's row."""
    row = rows.get(error.procedure_code or "")
    if row is None:
        where = f"procedure {error.procedure_code}" if error.procedure_code else error.file
        return Problem(where, error.field, f"{error.message} (not from the export: check {error.file})")
    column = ""
    for prefix, candidate in _FIELD_COLUMNS:
        if error.field == prefix or error.field.startswith((f"{prefix}.", f"{prefix}[")):
            column = candidate.header
            break
    else:
        if error.field.startswith("route"):
            payment = "payment" in error.message or "fee" in error.message
            column = f"{LEVEL.header} / {FEE.header}" if payment else DAYS.header
    return Problem(row.label, column, f"{error.message} ({error.field} of the merged procedure)")

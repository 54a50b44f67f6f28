"""The difference between two sets of procedures, as ops read it."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.domain.catalogue_diff import diff_procedures
from tests.factories import create_procedure


def test_added_changed_removed_and_unchanged() -> None:
    kept, changed, removed = create_procedure("2.000488"), create_procedure("1.000001"), create_procedure("1.000002")
    added = create_procedure("1.000003", name="Thủ tục mới")
    new_changed = replace(changed, fee_vnd=250000, form_schema={**changed.form_schema, "title": "x"})
    diff = diff_procedures([kept, changed, removed], [kept, new_changed, added])
    assert [p.code for p in diff.added] == ["1.000003"]
    assert [p.code for p in diff.removed] == ["1.000002"]
    assert [str(c) for c in diff.changed["1.000001"]] == ["fee_vnd: 200000 → 250000", "form_schema changed"]
    assert diff.unchanged == 1 and not diff.empty
    assert diff.summary() == "1 added, 1 changed, 1 removed, 1 unchanged"
    assert diff.lines() == ["+ 1.000003 Thủ tục mới", "~ 1.000001", "    fee_vnd: 200000 → 250000",
                            "    form_schema changed", f"- 1.000002 {removed.name}"]


def test_same_procedures_make_an_empty_diff() -> None:
    procedures = [create_procedure("2.000488"), create_procedure("1.000001")]
    diff = diff_procedures(procedures, list(reversed(procedures)))
    assert diff.empty and diff.lines() == [] and diff.unchanged == 2

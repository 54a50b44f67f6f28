"""JSON Schema validation worded for citizens: Vietnamese first, then English, one error per field."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.forms import FieldError, ValidationFailed, field_errors, validate_against


def errors_of(schema: dict[str, Any], value: Any, prefix: str = "") -> dict[str, str]:
    return {e.field: e.message for e in field_errors(schema, value, prefix=prefix)}


def one(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, **extra}


@pytest.mark.parametrize(
    ("schema", "value", "field", "message"),
    [
        pytest.param(one({"a": {"type": "string"}}, required=["a"]), {}, "a",
                     "bắt buộc phải có / required", id="required"),
        pytest.param(one({}, additionalProperties=False), {"x": 1}, "x",
                     "trường không được chấp nhận / unknown field", id="additionalProperties"),
        pytest.param(one({"a": {"type": "string"}}), {"a": 1}, "a",
                     "phải là chuỗi ký tự / must be of type string", id="type-string"),
        pytest.param(one({"a": {"type": "integer"}}), {"a": "1"}, "a",
                     "phải là số nguyên / must be of type integer", id="type-integer"),
        pytest.param(one({"a": {"type": "number"}}), {"a": "1"}, "a",
                     "phải là số / must be of type number", id="type-number"),
        pytest.param(one({"a": {"type": "boolean"}}), {"a": 1}, "a",
                     "phải là đúng/sai / must be of type boolean", id="type-boolean"),
        pytest.param(one({"a": {"type": "object"}}), {"a": []}, "a",
                     "phải là đối tượng / must be of type object", id="type-object"),
        pytest.param(one({"a": {"type": "array"}}), {"a": {}}, "a",
                     "phải là danh sách / must be of type array", id="type-array"),
        pytest.param(one({"a": {"type": "null"}}), {"a": 0}, "a",
                     "phải là rỗng / must be of type null", id="type-null"),
        pytest.param(one({"a": {"type": "string", "minLength": 3}}), {"a": "ab"}, "a",
                     "tối thiểu 3 ký tự / at least 3 characters", id="minLength"),
        pytest.param(one({"a": {"type": "string", "maxLength": 3}}), {"a": "abcd"}, "a",
                     "tối đa 3 ký tự / at most 3 characters", id="maxLength"),
        pytest.param(one({"a": {"type": "string", "pattern": "^[0-9]+$", "title": "Số nhà"}}),
                     {"a": "x"}, "a",
                     "không đúng định dạng (Số nhà) / invalid format", id="pattern-with-title"),
        pytest.param(one({"a": {"type": "string", "pattern": "^[0-9]+$"}}), {"a": "x"}, "a",
                     "không đúng định dạng / invalid format", id="pattern"),
        pytest.param(one({"a": {"type": "string", "format": "date"}}), {"a": "17/05/1990"}, "a",
                     "phải là ngày theo dạng YYYY-MM-DD / must be a valid date as YYYY-MM-DD", id="format-date"),
        pytest.param(one({"a": {"type": "string", "format": "email"}}), {"a": "an"}, "a",
                     "phải là địa chỉ thư điện tử / must be a valid email address", id="format-email"),
        pytest.param(one({"a": {"enum": ["nam", "nữ"]}}), {"a": "x"}, "a",
                     "phải là một trong: nam, nữ / must be one of: nam, nữ", id="enum"),
        pytest.param(one({"a": {"type": "integer", "minimum": 1}}), {"a": 0}, "a",
                     "phải lớn hơn hoặc bằng 1 / too small", id="minimum"),
        pytest.param(one({"a": {"type": "integer", "exclusiveMinimum": 1}}), {"a": 1}, "a",
                     "phải lớn hơn 1 / too small", id="exclusiveMinimum"),
        pytest.param(one({"a": {"type": "integer", "maximum": 10}}), {"a": 11}, "a",
                     "phải nhỏ hơn hoặc bằng 10 / too large", id="maximum"),
        pytest.param(one({"a": {"type": "integer", "exclusiveMaximum": 10}}), {"a": 10}, "a",
                     "phải nhỏ hơn 10 / too large", id="exclusiveMaximum"),
        pytest.param(one({"a": {"type": "array", "maxItems": 1}}), {"a": [1, 2]}, "a",
                     "tối đa 1 mục / at most 1 items", id="maxItems"),
        pytest.param(one({"a": {"type": "array", "minItems": 2}}), {"a": [1]}, "a",
                     "tối thiểu 2 mục / at least 2 items", id="minItems"),
        pytest.param(one({"a": {"const": "x"}}), {"a": "y"}, "a",
                     "không hợp lệ / invalid (const)", id="other-kinds"),
    ],
)
def test_messages_per_validator_kind(schema: dict[str, Any], value: Any, field: str, message: str) -> None:
    assert errors_of(schema, value) == {field: message}
    vietnamese, english = message.split(" / ", 1)
    assert vietnamese and english


def test_union_types_are_worded_in_vietnamese_too() -> None:
    """Regression: the Vietnamese half used to say 'phải là string/null'."""
    message = errors_of(one({"a": {"type": ["string", "null"]}}), {"a": 1})["a"]
    assert message == "phải là chuỗi ký tự/rỗng / must be of type string/null"


def test_one_error_per_field() -> None:
    schema = one({"a": {"type": "string", "minLength": 5, "pattern": "^[0-9]+$"},
                  "b": {"type": "string", "maxLength": 1, "format": "email"}})
    errors = field_errors(schema, {"a": "xy", "b": "xyz"}, prefix="")
    assert [e.field for e in errors] == ["a", "b"]


def test_each_missing_field_is_named() -> None:
    schema = one({"a": {}, "b": {}, "c": {}}, required=["a", "b", "c"])
    required = "bắt buộc phải có / required"
    assert errors_of(schema, {"b": 1}) == {"a": required, "c": required}


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"documents": [{"document_id": "x", "upload_id": 1}]}, "documents[0].upload_id"),
        ({"documents": [{"document_id": "x", "upload_id": "u"}, {"document_id": "y"}]},
         "documents[1].upload_id"),
        ({"documents": [{"document_id": "x", "upload_id": "u", "z": 1}]}, "documents[0].z"),
        ({"documents": ["x"]}, "documents[0]"),
        ({"documents": [], "owner": {"name": 1}}, "owner.name"),
        ({"documents": [], "owner": {"address": {"street": 1}}}, "owner.address.street"),
        ({"documents": [], "owner": {"address": {}}}, "owner.address.street"),
    ],
)
def test_nested_paths(value: dict[str, Any], field: str) -> None:
    schema = one({
        "documents": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["document_id", "upload_id"],
            "properties": {"document_id": {"type": "string"}, "upload_id": {"type": "string"}}}},
        "owner": one({"name": {"type": "string"},
                      "address": one({"street": {"type": "string"}}, required=["street"])}),
    })
    assert list(errors_of(schema, value)) == [field]


def test_the_prefix_names_where_the_value_sits() -> None:
    schema = one({"phone": {"type": "string"}}, required=["phone"])
    assert list(errors_of(schema, {}, prefix="applicant")) == ["applicant.phone"]
    assert list(errors_of(schema, {"phone": 1}, prefix="applicant")) == ["applicant.phone"]
    assert list(errors_of(schema, "x", prefix="applicant")) == ["applicant"]
    assert list(errors_of({"type": "array", "items": {"type": "string"}}, [1], prefix="documents")) == [
        "documents[0]"]


def test_an_error_on_the_whole_body_is_named_body() -> None:
    assert errors_of({"type": "object"}, [], prefix="") == {
        "(body)": "phải là đối tượng / must be of type object"}


def test_validate_against_raises_validation_failed() -> None:
    schema = one({"a": {"type": "string"}}, required=["a"])
    validate_against(schema, {"a": "x"}, prefix="")
    with pytest.raises(ValidationFailed) as failed:
        validate_against(schema, {}, prefix="form")
    assert isinstance(failed.value, InvalidInput)
    assert failed.value.code == "validation_failed"
    assert failed.value.field == "form.a"
    assert failed.value.errors == (FieldError("form.a", "bắt buộc phải có / required"),)
    assert failed.value.message == "Dữ liệu không hợp lệ / Invalid data: form.a: bắt buộc phải có / required"


def test_a_long_list_of_errors_is_summarised() -> None:
    failed = ValidationFailed([FieldError(f"f{i}", "x") for i in range(8)])
    assert failed.message.endswith("f4: x; … (+3)")
    assert failed.field == "f0"
    assert len(failed.errors) == 8
    assert ValidationFailed([]).field is None


@pytest.mark.parametrize(("value", "matches"), [
    ("068090001234", True),
    ("068090001234\n", False),  # Python's "$" would let the final newline through
    ("x068090001234", False),
])
def test_a_pattern_s_end_is_the_end_of_the_text(value: str, matches: bool) -> None:
    schema = one({"id": {"type": "string", "pattern": "^[0-9]{12}$"}})
    assert (errors_of(schema, {"id": value}) == {}) is matches


@pytest.mark.parametrize(("pattern", "value"), [(r"^a[$]b$", "a$b"), (r"^a\$$", "a$"), (r"^(x|y)$", "y")])
def test_a_dollar_sign_escaped_or_in_a_class_stays_a_dollar_sign(pattern: str, value: str) -> None:
    assert errors_of(one({"v": {"type": "string", "pattern": pattern}}), {"v": value}) == {}


@pytest.mark.parametrize(("address", "valid"), [
    ("an.nguyen@example.vn", True),
    ("an+hoso@mail.gov.vn", True),
    ("@", False),
    ("an.nguyen@", False),
    ("an nguyen@gmail.com", False),
    ("an@gmail", False),
    ("a@b.com\nBcc: x@y.z", False),  # a header smuggled into the e-mail sent to it
    ("nguyễn@example.vn", False),  # the e-mail service sends to ASCII addresses only
])
def test_an_email_address_is_one_the_service_can_send_to(address: str, valid: bool) -> None:
    schema = one({"email": {"type": "string", "format": "email"}})
    assert (errors_of(schema, {"email": address}) == {}) is valid

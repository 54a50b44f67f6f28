"""JSON Schema validation with one error per field, worded for citizens."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chalicelib.domain.errors import InvalidInput

if TYPE_CHECKING:
    # jsonschema (with referencing and attrs) is imported on the first validation, not with this
    # module: the error types below travel through every handler, read-only requests included.
    from jsonschema import Draft202012Validator, FormatChecker
    from jsonschema.exceptions import ValidationError


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class ValidationFailed(InvalidInput):
    code = "validation_failed"

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors = tuple(errors)
        summary = "; ".join(f"{e.field}: {e.message}" for e in self.errors[:5])
        if len(self.errors) > 5:
            summary += f"; … (+{len(self.errors) - 5})"
        super().__init__(
            f"Dữ liệu không hợp lệ / Invalid data: {summary}",
            field=self.errors[0].field if self.errors else None,
        )


_TYPES_VI = {
    "string": "chuỗi ký tự",
    "integer": "số nguyên",
    "number": "số",
    "boolean": "đúng/sai",
    "object": "đối tượng",
    "array": "danh sách",
    "null": "rỗng",
}


# Formats checked with fullmatch. "email" replaces jsonschema's own check, which only asks for an
# "@": the address must be one the e-mail service can send to (ASCII, a dotted domain, no
# spaces or line breaks that could smuggle in a header).
_FULLMATCH_FORMATS = {
    "vn-phone": re.compile(r"(0|\+84)[35789][0-9]{8}"),
    "vn-id-number": re.compile(r"[0-9]{12}"),
    "email": re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,63}"),
}
_FORMAT_NAMES = {
    "vn-phone": ("số điện thoại Việt Nam", "Vietnamese phone number"),
    "vn-id-number": ("số định danh cá nhân 12 chữ số", "12-digit personal ID number"),
    "date": ("ngày theo dạng YYYY-MM-DD", "date as YYYY-MM-DD"),
    "email": ("địa chỉ thư điện tử", "email address"),
}


def _format_checker() -> FormatChecker:
    from jsonschema import FormatChecker

    checker = FormatChecker()
    for name, pattern in _FULLMATCH_FORMATS.items():
        checker.checks(name)(lambda value, pattern=pattern: not isinstance(value, str)
                             or pattern.fullmatch(value) is not None)
    return checker


@lru_cache(maxsize=512)
def ecma_pattern(pattern: str) -> re.Pattern[str]:
    """A schema's ``pattern`` as JSON Schema means it (ECMA-262, no multiline flag): its "$" is the
    end of the text. Python's "$" also matches before a final newline, which would let
    "068090001234\n" through ``^[0-9]{12}$``: each "$" outside a character class becomes "\\Z"."""
    translated: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            translated.append(r"\Z")
            continue
        translated.append(char)
    return re.compile("".join(translated))


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterable[ValidationError]:
    from jsonschema.exceptions import ValidationError

    if isinstance(instance, str) and ecma_pattern(pattern).search(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@lru_cache(maxsize=1)
def _validator_class() -> Any:
    from jsonschema import Draft202012Validator, validators

    return validators.extend(Draft202012Validator, {"pattern": _pattern})  # type: ignore[no-untyped-call]


@lru_cache(maxsize=256)
def _validator(schema_key: str) -> Draft202012Validator:
    validator: Draft202012Validator = _validator_class()(json.loads(schema_key), format_checker=_format_checker())
    return validator


def _path(prefix: str, parts: Iterable[Any]) -> str:
    text = prefix
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text = f"{text}.{part}" if text else str(part)
    return text or "(body)"


def _describe(error: ValidationError) -> tuple[list[Any], str]:
    """Where the error is and what to tell the citizen, Vietnamese first."""
    path = list(error.absolute_path)
    validator = error.validator
    value: Any = error.validator_value
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    title = schema.get("title")
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        path.append(missing)
        return path, "bắt buộc phải có / required"
    if validator == "additionalProperties":
        instance = error.instance if isinstance(error.instance, dict) else {}
        extras = sorted(set(instance) - set(schema.get("properties", {})))
        if extras:
            path.append(extras[0])
        return path, "trường không được chấp nhận / unknown field"
    if validator == "type":
        wanted_types = [value] if isinstance(value, str) else [str(v) for v in value]
        wanted = "/".join(wanted_types)
        wanted_vi = "/".join(_TYPES_VI.get(t, t) for t in wanted_types)
        return path, f"phải là {wanted_vi} / must be of type {wanted}"
    if validator == "minLength":
        return path, f"tối thiểu {value} ký tự / at least {value} characters"
    if validator == "maxLength":
        return path, f"tối đa {value} ký tự / at most {value} characters"
    if validator == "pattern":
        label = f" ({title})" if title else ""
        return path, f"không đúng định dạng{label} / invalid format"
    if validator == "format":
        vi, en = _FORMAT_NAMES.get(str(value), (str(value), str(value)))
        return path, f"phải là {vi} / must be a valid {en}"
    if validator == "enum":
        options = ", ".join(str(v) for v in value)
        return path, f"phải là một trong: {options} / must be one of: {options}"
    if validator in ("minimum", "exclusiveMinimum"):
        return path, f"phải lớn hơn{' hoặc bằng' if validator == 'minimum' else ''} {value} / too small"
    if validator in ("maximum", "exclusiveMaximum"):
        return path, f"phải nhỏ hơn{' hoặc bằng' if validator == 'maximum' else ''} {value} / too large"
    if validator == "maxItems":
        return path, f"tối đa {value} mục / at most {value} items"
    if validator == "minItems":
        return path, f"tối thiểu {value} mục / at least {value} items"
    return path, f"không hợp lệ / invalid ({validator})"


def field_errors(schema: dict[str, Any], value: Any, *, prefix: str) -> list[FieldError]:

    validator = _validator(json.dumps(schema, sort_keys=True))
    found: dict[str, FieldError] = {}
    for error in sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path))):
        path, message = _describe(error)
        name = _path(prefix, path)
        # One message per field is what a citizen can act on.
        found.setdefault(name, FieldError(name, message))
    return list(found.values())


def validate_against(schema: dict[str, Any], value: Any, *, prefix: str) -> None:
    errors = field_errors(schema, value, prefix=prefix)
    if errors:
        raise ValidationFailed(errors)

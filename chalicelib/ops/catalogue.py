"""``catalogue import``: a national procedure database export into the province's catalogue."""

from __future__ import annotations

import hashlib
import json
import mimetypes
from pathlib import Path
from typing import Any, TextIO

from chalicelib.config import get_settings
from chalicelib.domain.catalogue import (
    PROCEDURES_FILE,
    PROVINCE_FILE,
    TEMPLATES_DIR,
    Agency,
    Catalogue,
    CatalogueError,
    agency_to_dict,
    load_catalogue,
    parse_catalogue,
)
from chalicelib.domain.catalogue_diff import diff_procedures
from chalicelib.domain.national_catalogue import ExportError, merge_export, problem_for, read_export
from chalicelib.ops.environment import UsageError
from chalicelib.services.catalogue import template_key
from chalicelib.services.deps import get_storage, get_store


def _document(directory: Path, name: str) -> dict[str, Any]:
    data = json.loads((directory / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)  # load_catalogue checked it
    return data


def _agencies(from_file: tuple[Agency, ...], in_table: list[Agency]) -> list[Agency]:
    """The table's agencies (ops may have added or changed some), then the file's others."""
    known = {agency.code for agency in in_table}
    return [*in_table, *(agency for agency in from_file if agency.code not in known)]


def _missing_templates(catalogue: Catalogue, templates_dir: Path) -> list[tuple[str, Path]]:
    """Form templates the catalogue offers that the documents bucket lacks, or holds another
    version of (compared by MD5, the ETag of a single-part upload). One listing, not one
    request per file: HeadObject on a missing key is a 403 without s3:ListBucket anyway."""
    import boto3

    settings = get_settings()
    s3 = boto3.client("s3", region_name=settings.region)
    prefix = template_key(settings.province, "")
    stored: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.documents_bucket, Prefix=prefix):
        stored.update({obj["Key"]: str(obj.get("ETag", "")).strip('"') for obj in page.get("Contents", [])})
    missing = []
    files = sorted({template.file for procedure in catalogue.procedures for template in procedure.templates})
    for file in files:
        key = template_key(settings.province, file)
        if stored.get(key) != hashlib.md5((templates_dir / file).read_bytes(), usedforsecurity=False).hexdigest():
            missing.append((key, templates_dir / file))
    return missing


def _upload(missing: list[tuple[str, Path]]) -> None:
    settings = get_settings()
    storage = get_storage(settings)
    for key, path in missing:
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if content_type.startswith("text/"):
            content_type += "; charset=utf-8"
        storage.put(settings.documents_bucket, key, path.read_bytes(), content_type=content_type)


def import_export(path: Path, directory: Path, out: TextIO, *, dry_run: bool, keep_unlisted: bool,
                  grace_seconds: float) -> None:
    try:
        base = load_catalogue(directory)
    except CatalogueError as error:
        raise UsageError(f"the province folder {directory} is invalid: {error}") from None
    try:
        rows = read_export(path)
    except ExportError as error:
        raise UsageError("the export is refused:\n" + "\n".join(f"  {p}" for p in error.problems)) from None
    province = _document(directory, PROVINCE_FILE)
    tiers = {str(tier["code"]): str(tier["name"]) for tier in province["tiers"]}
    store = get_store()
    agencies = _agencies(base.agencies, store.list_agencies())
    current = store.current_procedures()
    try:
        merged = merge_export(rows, _document(directory, PROCEDURES_FILE), tiers=tiers, agencies=agencies,
                              keep=current if keep_unlisted else ())
    except ExportError as error:
        raise UsageError(f"the export is refused ({len(error.problems)} "
                         f"row{'s' if len(error.problems) != 1 else ''}); nothing was written:\n"
                         + "\n".join(f"  {p}" for p in error.problems)) from None
    try:
        catalogue = parse_catalogue(province, {"agencies": [agency_to_dict(a) for a in agencies]}, merged.document,
                                    templates_dir=directory / TEMPLATES_DIR)
    except CatalogueError as error:
        raise UsageError(f"the export is refused; nothing was written:\n  {problem_for(error, merged.rows)}"
                         ) from None
    for note in merged.notes:
        print(f"note: {note}", file=out)
    diff = diff_procedures(current, catalogue.procedures)
    missing = _missing_templates(catalogue, directory / TEMPLATES_DIR)
    for line in diff.lines():
        print(line, file=out)
    if dry_run:
        templates = f"; {len(missing)} form templates to upload" if missing else ""
        print(f"dry run: {diff.summary()}{templates}; nothing written", file=out)
        return
    _upload(missing)
    result = store.replace_catalogue(catalogue, grace_seconds=grace_seconds)
    if not result.changed and not missing:
        print(f"no change: the table already holds this catalogue ({len(catalogue.procedures)} procedures, "
              f"version {result.version}); nothing written", file=out)
        return
    print(f"imported {path.name}: {diff.summary()}; catalogue version {result.version} "
          f"({result.procedures_written} procedure items written, {result.procedures_deleted} old ones deleted, "
          f"{result.agencies_written} agencies written, {len(missing)} form templates uploaded)", file=out)
    if result.changed:
        print(f"running containers follow it within {get_settings().catalogue_cache_seconds:g} s "
              "(MOTCUA_CATALOGUE_CACHE_SECONDS); the previous version stays until the next import", file=out)

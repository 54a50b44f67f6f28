"""Package one province's stack for AWS (``make package STAGE=<province>``), offline.

1. Builds ``out/<stage>/merge-template.json``: ``infra/template.json`` (what the local stack
   creates too) deep-merged with ``infra/aws.json`` (AWS-only: the functions' environment and
   names, SQS event sources by ARN, API throttling, alarms), the route's ASL file inlined as the
   state machine's ``Definition`` (the very file the local stack runs, with the same
   ``DefinitionSubstitutions``), and the ``Province`` parameter defaulting to the stage's province.
2. Runs ``chalice package --stage <stage> --merge-template … out/<stage>/`` (no AWS
   credentials needed; a region is).
3. Runs ``cfn-lint`` on ``out/<stage>/sam.json``: any finding fails the packaging.

``--skip-dependencies`` leaves the Python dependencies out of ``deployment.zip`` (the template
is the same): the tests use it to package every stage in seconds without the package
registry. Such a zip cannot run in Lambda, so it is cached under its own name and never
reused by a real package.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tools.aws_resources import DEFINITION_FILE_METADATA

ROOT = Path(__file__).resolve().parents[1]
INFRA = ROOT / "infra"
TEMPLATE = INFRA / "template.json"
AWS_ONLY = INFRA / "aws.json"
CHALICE_CONFIG = ROOT / ".chalice" / "config.json"
DEFAULT_REGION = "ap-southeast-1"
LOCAL_STAGES = frozenset({"local"})


class PackageError(RuntimeError):
    pass


def deep_merge(base: Any, overlay: Any) -> Any:
    """What ``chalice package --merge-template`` does: dicts merge key by key, anything else
    (lists included) is replaced by the overlay's value."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            merged[key] = deep_merge(base.get(key), value)
        return merged
    return copy.deepcopy(overlay)


def chalice_config() -> dict[str, Any]:
    config: dict[str, Any] = json.loads(CHALICE_CONFIG.read_text(encoding="utf-8"))
    return config


def province_stages() -> list[str]:
    """The stages that deploy a province (every stage but the local one)."""
    return sorted(set(chalice_config()["stages"]) - LOCAL_STAGES)


def stage_province(stage: str) -> str:
    stages = chalice_config()["stages"]
    if stage not in stages or stage in LOCAL_STAGES:
        raise PackageError(f"no province stage {stage!r} in {CHALICE_CONFIG} (known: {', '.join(province_stages())})")
    province = str(stages[stage].get("environment_variables", {}).get("MOTCUA_PROVINCE", ""))
    if not province:
        raise PackageError(f"stage {stage!r} sets no MOTCUA_PROVINCE")
    return province


def merge_template(stage: str) -> dict[str, Any]:
    """infra/template.json + infra/aws.json, the ASL inlined, Province defaulting to the stage's."""
    template = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    merged: dict[str, Any] = deep_merge(template, json.loads(AWS_ONLY.read_text(encoding="utf-8")))
    merged["Parameters"]["Province"]["Default"] = stage_province(stage)
    for logical_id, resource in merged["Resources"].items():
        if resource.get("Type") != "AWS::StepFunctions::StateMachine":
            continue
        relative = (resource.get("Metadata") or {}).get(DEFINITION_FILE_METADATA)
        if not relative:
            raise PackageError(f"state machine {logical_id} needs Metadata.{DEFINITION_FILE_METADATA}")
        # CloudFormation applies DefinitionSubstitutions to a Definition object as the local
        # stack does to the file's text (tools/aws_resources.state_machine_definition).
        resource["Properties"]["Definition"] = json.loads((INFRA / str(relative)).read_text(encoding="utf-8"))
    return merged


def _skip_dependencies() -> None:
    from chalice.deploy import packager

    cls = packager.LambdaDeploymentPackager
    original = cls.deployment_package_filename

    def filename(self: Any, project_dir: str, python_version: str) -> str:
        path = Path(original(self, project_dir, python_version))
        return str(path.with_name("nodeps-" + path.name))

    def no_dependencies(self: Any, python_version: str, requirements_filepath: str,
                        site_packages_dir: str) -> None:
        return None

    cls.deployment_package_filename = filename  # type: ignore[method-assign]
    cls._build_python_dependencies = no_dependencies  # type: ignore[method-assign]


def run_chalice_package(stage: str, merge_file: Path, out_dir: Path, *, skip_dependencies: bool) -> None:
    from chalice.cli import cli

    if skip_dependencies:
        _skip_dependencies()
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION") or DEFAULT_REGION)
    try:
        cli.main(args=["--project-dir", str(ROOT), "package", "--stage", stage, "--merge-template", str(merge_file),
                       str(out_dir)], obj={}, standalone_mode=False)
    except Exception as error:
        raise PackageError(f"chalice package --stage {stage} failed: {error}") from error


def cfn_lint(template: Path, region: str) -> str:
    """cfn-lint's findings ("" when clean)."""
    executable = Path(sys.executable).parent / "cfn-lint"
    command = [str(executable) if executable.exists() else (shutil.which("cfn-lint") or "cfn-lint"),
               "--format", "parseable", "--regions", region, "--", str(template)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    return (result.stdout + result.stderr).strip()


def package(stage: str, out_dir: Path | None = None, *, skip_dependencies: bool = False, lint: bool = True) -> Path:
    """Packages the stage into ``out/<stage>/`` and returns the path of ``sam.json``."""
    out_dir = out_dir or ROOT / "out" / stage
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    merge_file = out_dir / "merge-template.json"
    merge_file.write_text(json.dumps(merge_template(stage), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    run_chalice_package(stage, merge_file, out_dir, skip_dependencies=skip_dependencies)
    sam = out_dir / "sam.json"
    if not sam.exists():
        raise PackageError(f"chalice package wrote no {sam}")
    if lint:
        findings = cfn_lint(sam, os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION)
        if findings:
            raise PackageError(f"cfn-lint found problems in {sam}:\n{findings}")
    return sam


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.package", description=__doc__.split("\n\n")[0])
    parser.add_argument("stage", help=f"a province stage of .chalice/config.json ({', '.join(province_stages())})")
    parser.add_argument("--out", type=Path, help="output folder (default out/<stage>/)")
    parser.add_argument("--skip-dependencies", action="store_true",
                        help="leave the Python dependencies out of deployment.zip (template checks only)")
    parser.add_argument("--no-lint", action="store_true", help="do not run cfn-lint")
    args = parser.parse_args(argv)
    try:
        sam = package(args.stage, args.out, skip_dependencies=args.skip_dependencies, lint=not args.no_lint)
    except PackageError as error:
        print(f"package: {error}", file=sys.stderr)
        return 1
    print(f"packaged stage {args.stage}: {sam} (cfn-lint {'skipped' if args.no_lint else 'clean'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make package`: build the deployable CloudFormation template and code zip for one stage, with no AWS account.

Chalice ships only ``app.py``, ``chalicelib/`` and ``vendor/``, so the operator's registry must travel inside
``chalicelib/``. Rather than writing into the working tree, the app is copied to ``build/.stage/<stage>/``
with the registry as ``chalicelib/companies.toml`` (where ``FAIR_REPLY_COMPANIES`` points on Lambda), and
packaged from there; the copy keeps Chalice's dependency cache between runs. The result,
``build/<stage>/sam.yaml`` and ``build/<stage>/deployment.zip``, is what ``aws cloudformation package`` and
``deploy`` take. The template's ``Stage`` parameter is pinned to the packaged stage, so a dev package cannot
be deployed as prod by a mistyped parameter.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MERGE_TEMPLATE = ROOT / "infra" / "template.yaml"
APP_FILES = ("app.py", "requirements.txt")
APP_DIRS = ("chalicelib", "vendor")
TEMPLATE_NAME = "sam.yaml"
ZIP_NAME = "deployment.zip"


class PackageError(Exception):
    """Packaging cannot proceed; the message says what the operator must fix."""


@dataclass(frozen=True, slots=True)
class Package:
    stage: str
    template: Path
    zip: Path


def stages(project: Path = ROOT) -> list[str]:
    config = json.loads((project / ".chalice" / "config.json").read_text(encoding="utf-8"))
    return sorted(config.get("stages", {}))


def _check_registry(companies: Path) -> None:
    """Refuse to ship a registry the app would refuse to load (the Lambda would fail on every call)."""
    sys.path.insert(0, str(ROOT))
    try:
        from chalicelib.errors import RegistryError
        from chalicelib.registry import load_registry

        try:
            load_registry(companies)
        except RegistryError as exc:
            raise PackageError(str(exc)) from exc
    finally:
        sys.path.remove(str(ROOT))


def _ignore(directory: str, names: list[str]) -> set[str]:
    return {
        n for n in names
        if n in ("__pycache__", "companies.toml") or n.endswith((".pyc", ".sqlite3", ".registry.json"))
    }


def _precompile(directory: Path) -> None:
    """Ship bytecode: Lambda's code directory is read-only, so without it every cold start compiles chalicelib.

    Chalice targets the runtime of the Python that packages, so these .pyc files match it. Hash-based,
    unchecked pycs stay valid whatever timestamps the zip gives the sources.
    """
    import compileall
    import py_compile

    ok = compileall.compile_dir(
        str(directory), quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )
    if not ok:
        raise PackageError(f"could not byte-compile {directory}")


def stage_app(companies: Path, staging: Path, project: Path = ROOT) -> Path:
    """Copy the app into ``staging`` with the registry inside chalicelib/; keep Chalice's cache there."""
    staging.mkdir(parents=True, exist_ok=True)
    for name in APP_DIRS:
        shutil.rmtree(staging / name, ignore_errors=True)
        if (project / name).is_dir():
            shutil.copytree(project / name, staging / name, ignore=_ignore)
    for name in APP_FILES:
        shutil.copy2(project / name, staging / name)
    (staging / ".chalice").mkdir(exist_ok=True)
    for path in (project / ".chalice").glob("*.json"):
        shutil.copy2(path, staging / ".chalice" / path.name)
    registry = staging / "chalicelib" / "companies.toml"
    shutil.copy2(companies, registry)
    _precompile_registry(registry)
    _precompile(staging / "chalicelib")
    return staging


def _precompile_registry(registry: Path) -> None:
    """Ship the registry parsed too (``companies.registry.json`` beside it): a cold Lambda then skips tomllib.

    The app uses that copy only while the TOML beside it is the text it was made from (chalicelib.registry).
    """
    from chalicelib.errors import RegistryError
    from chalicelib.registry import write_precompiled

    try:
        write_precompiled(registry)
    except RegistryError:
        raise
    except ValueError:  # a value JSON cannot hold (a TOML date): the Lambda parses the TOML itself
        pass


def _chalice() -> list[str]:
    """The chalice CLI of this interpreter's environment (a venv's bin/ need not be on PATH)."""
    script = Path(sys.executable).with_name("chalice")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from chalice.cli import main; sys.exit(main())"]


def pin_stage(template_path: Path, stage: str) -> None:
    """Make the packaged stage the only value the template's Stage parameter accepts, and its default."""
    template = yaml.safe_load(template_path.read_text(encoding="utf-8"))
    parameter = template["Parameters"]["Stage"]
    parameter["Default"] = stage
    parameter["AllowedValues"] = [stage]
    template_path.write_text(yaml.safe_dump(template, allow_unicode=True, sort_keys=False), encoding="utf-8")


def package(stage: str, out_dir: Path, companies: Path, *, project: Path = ROOT) -> Package:
    """Package ``stage`` into ``out_dir`` (replaced); raise :class:`PackageError` on any problem."""
    if stage not in stages(project):
        raise PackageError(f"unknown stage {stage!r}; .chalice/config.json defines {', '.join(stages(project))}")
    companies = companies.resolve()
    if not companies.is_file():
        raise PackageError(f"{companies}: company registry not found (set COMPANIES=path/to/companies.toml)")
    _check_registry(companies)
    out_dir = out_dir.resolve()
    staging = stage_app(companies, out_dir.parent / ".stage" / stage, project)
    shutil.rmtree(out_dir, ignore_errors=True)
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # chalice insists on a region; the template uses AWS::Region
    command = _chalice() + [
        "--project-dir", str(staging), "package", "--stage", stage, "--pkg-format", "cloudformation",
        "--template-format", "yaml", "--merge-template", str(MERGE_TEMPLATE), str(out_dir),
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PackageError(f"chalice package failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    built = Package(stage=stage, template=out_dir / TEMPLATE_NAME, zip=out_dir / ZIP_NAME)
    if not (built.template.is_file() and built.zip.is_file()):
        raise PackageError(f"chalice package did not write {built.template} and {built.zip}:\n{result.stdout}")
    pin_stage(built.template, stage)
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.package", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--out", type=Path, help="output directory (default build/<stage>)")
    parser.add_argument("--companies", type=Path, default=ROOT / "companies.toml")
    args = parser.parse_args(argv)
    try:
        built = package(args.stage, args.out or ROOT / "build" / args.stage, args.companies)
    except PackageError as exc:
        print(f"make package: {exc}", file=sys.stderr)
        return 1
    print(f"template: {built.template}\nzip:      {built.zip}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

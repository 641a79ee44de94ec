"""The Lambda assets, built on this machine without Docker.

- The shared layer: `layers/requirements.txt` installed by pip from manylinux wheels for the Lambda
  runtime's CPython (never from source, never for this machine's platform) into
  `.build/layer/python`, then pruned of what no function reads (`prune_layer`). Rebuilt only when
  the requirements, the target or the pruning rules change.
- The Data Exports layer: `layers/data-exports/requirements.txt` (DuckDB) the same way, into
  `.build/layer-data-exports/python`: the export worker's alone, so the Cost Explorer worker's
  code and layer stay under 10 MB zipped (docs/data-exports.md "Deployment").
- The code: a copy of `lambdas/` (its Python files and templates) in `.build/code`, so the
  asset holds the runtime package and nothing else of the repository.

x86_64, not the cheaper arm64: css-inline (pinned in requirements.txt) publishes Linux aarch64
wheels only for musl, which Lambda's glibc runtime cannot load.

`python -m infrastructure.assets [layer|code|sizes]` runs a step by hand (`make layer` builds both layers).
"""

from __future__ import annotations

import hashlib
import io
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".build"
LAYER_REQUIREMENTS = ROOT / "layers" / "requirements.txt"
LAYER_DIR = BUILD / "layer"
DATA_EXPORTS_REQUIREMENTS = ROOT / "layers" / "data-exports" / "requirements.txt"
DATA_EXPORTS_LAYER_DIR = BUILD / "layer-data-exports"
CODE_DIR = BUILD / "code"
SOURCE_PACKAGE = ROOT / "lambdas"

LAMBDA_PYTHON = "3.12"
LAMBDA_ARCHITECTURE = "x86_64"
# Lambda's python3.12 runtime is Amazon Linux 2023 (glibc 2.34): both tags load there.
WHEEL_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
_STAMP = ".fingerprint"
_CODE_SUFFIXES = {".py", ".j2", ".css", ".html", ".txt", ".json"}

# Pruned from the layer: what no function reads at run time.
# Caches, tests and type stubs.
PRUNED_DIRECTORIES = frozenset({"__pycache__", "tests", "test", "bin"})
PRUNED_SUFFIXES = frozenset({".pyc", ".pyi"})
# Of each *.dist-info, the installer's bookkeeping (RECORD lists every file with its hash); METADATA
# (importlib.metadata), entry points and the licences stay.
PRUNED_DIST_INFO = frozenset({"RECORD", "INSTALLER", "REQUESTED", "WHEEL", "direct_url.json"})
# Babel's locale data is two thirds of the layer. Every locale stays (a client may configure any
# locale Babel knows: lambdas/models/client.py), but amounts are the only thing formatted in the
# client's locale; words and dates are English (lambdas/logic/render/format.py). So each locale keeps its
# number, currency and percent data and loses its names of languages, territories, scripts, time
# zones, units and currencies and its calendar, except the locales dates are written in.
BABEL_DATE_LOCALES = frozenset({"root", "en"})
BABEL_UNUSED_LOCALE_DATA = frozenset(
    {
        "languages",
        "territories",
        "scripts",
        "variants",
        "time_zones",
        "meta_zones",
        "zone_formats",
        "unit_patterns",
        "unit_display_names",
        "compound_unit_patterns",
        "currency_names",
        "currency_names_plural",
        "date_fields",
        "datetime_skeletons",
        "interval_formats",
        "compact_decimal_formats",
        "compact_currency_formats",
        "list_patterns",
        "day_periods",
        "months",
        "days",
        "quarters",
        "eras",
    }
)


def layer_fingerprint(requirements: Path = LAYER_REQUIREMENTS) -> str:
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(f"{LAMBDA_PYTHON}|{'|'.join(WHEEL_PLATFORMS)}".encode())
    rules = (PRUNED_DIRECTORIES, PRUNED_SUFFIXES, PRUNED_DIST_INFO, BABEL_DATE_LOCALES, BABEL_UNUSED_LOCALE_DATA)
    digest.update(repr([sorted(rule) for rule in rules]).encode())
    return digest.hexdigest()


def layer_is_current(requirements: Path = LAYER_REQUIREMENTS, directory: Path = LAYER_DIR) -> bool:
    stamp = directory / _STAMP
    return stamp.is_file() and stamp.read_text().strip() == layer_fingerprint(requirements)


def build_layer(*, force: bool = False, requirements: Path = LAYER_REQUIREMENTS, directory: Path = LAYER_DIR) -> Path:
    """`.build/layer` (holding `python/`), rebuilt only when layers/requirements.txt changed; or
    another layer's directory from its own requirements (`build_data_exports_layer`)."""
    if layer_is_current(requirements, directory) and not force:
        return directory
    shutil.rmtree(directory, ignore_errors=True)
    target = directory / "python"
    platforms = [arg for platform in WHEEL_PLATFORMS for arg in ("--platform", platform)]
    subprocess.run(  # noqa: S603 - fixed arguments, this interpreter's pip
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",  # the file lists the whole closure; boto3 and botocore stay out
            "--no-compile",  # .pyc of this machine's Python would be dead weight for 3.12
            "--only-binary=:all:",
            "--implementation",
            "cp",
            "--python-version",
            LAMBDA_PYTHON,
            *platforms,
            "--target",
            str(target),
            "--requirement",
            str(requirements),
        ],
        check=True,
    )
    prune_layer(target)
    (directory / _STAMP).write_text(layer_fingerprint(requirements) + "\n")
    return directory


def build_data_exports_layer(*, force: bool = False) -> Path:
    """`.build/layer-data-exports` (holding `python/duckdb`): the export worker's second layer."""
    return build_layer(force=force, requirements=DATA_EXPORTS_REQUIREMENTS, directory=DATA_EXPORTS_LAYER_DIR)


def prune_layer(target: Path) -> None:
    """Remove from the installed layer what no function reads (the rules above). `bin/` holds the
    console scripts: nothing in Lambda runs them."""
    for path in sorted(target.rglob("*"), reverse=True):  # children before their directory
        if not path.exists():
            continue
        if path.is_dir() and path.name in PRUNED_DIRECTORIES and _is_package_content(path, target):
            shutil.rmtree(path)
        elif path.is_file() and (
            path.suffix in PRUNED_SUFFIXES
            or (path.parent.name.endswith(".dist-info") and path.name in PRUNED_DIST_INFO)
        ):
            path.unlink()
    locale_data = target / "babel" / "locale-data"
    if locale_data.is_dir():
        prune_babel_locale_data(locale_data)


def _is_package_content(path: Path, target: Path) -> bool:
    # A directory named like a pruned one but importable as code (an `__init__.py` inside) is pruned
    # only when it is a test suite; `bin/` only at the top.
    if path.name == "bin":
        return path.parent == target
    return path.name == "__pycache__" or (path.parent / "__init__.py").exists()


def prune_babel_locale_data(folder: Path) -> None:
    """Each locale's data without the sections the platform never reads (BABEL_UNUSED_LOCALE_DATA)."""
    for path in sorted(folder.glob("*.dat")):
        if path.stem in BABEL_DATE_LOCALES:
            continue
        with path.open("rb") as stream:
            data = pickle.load(stream)  # noqa: S301 - Babel's own data files, from the pinned wheel
        kept = {key: value for key, value in data.items() if key not in BABEL_UNUSED_LOCALE_DATA}
        if len(kept) != len(data):
            with path.open("wb") as stream:
                pickle.dump(kept, stream, protocol=pickle.HIGHEST_PROTOCOL)


def stage_code() -> Path:
    """`.build/code/lambdas`: the runtime package as Lambda imports it, rebuilt from scratch."""
    shutil.rmtree(CODE_DIR, ignore_errors=True)
    for source in sorted(SOURCE_PACKAGE.rglob("*")):
        if source.is_file() and source.suffix in _CODE_SUFFIXES and "__pycache__" not in source.parts:
            target = CODE_DIR / source.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return CODE_DIR


def unzipped_size(path: Path) -> int:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())


def zipped_size(path: Path) -> int:
    """Bytes of the directory as a deflated zip, as the CDK uploads a directory asset."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(path.rglob("*")):
            if file.is_file() and file.name != _STAMP:
                archive.write(file, file.relative_to(path))
    return buffer.tell()


def main(argv: list[str]) -> int:
    step = argv[0] if argv else "layer"
    if step == "layer":
        print(f"layer: {build_layer(force='--force' in argv)}")
        print(f"data-exports layer: {build_data_exports_layer(force='--force' in argv)}")
    elif step == "code":
        print(f"code: {stage_code()}")
    elif step == "sizes":
        sizes = {
            name: (zipped_size(path), unzipped_size(path))
            for name, path in (
                ("layer", build_layer()),
                ("data-exports layer", build_data_exports_layer()),
                ("code", stage_code()),
            )
        }
        for name, (zipped, unzipped) in sizes.items():
            print(f"{name}: {zipped / 1e6:.1f} MB zipped, {unzipped / 1e6:.1f} MB unzipped")
        worker = sizes["code"][0] + sizes["layer"][0]
        print(f"worker (code + layer): {worker / 1e6:.1f} MB zipped")
        export_worker = worker + sizes["data-exports layer"][0]
        print(f"export worker (code + layer + data-exports layer): {export_worker / 1e6:.1f} MB zipped")
    else:
        print("usage: python -m infrastructure.assets [layer [--force]|code|sizes]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

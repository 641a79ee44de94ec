"""The Lambda assets: the shared layer holds exactly the pinned closure for the runtime's CPython,
the Data Exports layer DuckDB alone, and the code asset the runtime package and nothing else of the
repository. The Cost Explorer worker (code + shared layer) stays under 10 MB zipped."""

from __future__ import annotations

import ast
import re
from importlib.metadata import distribution, packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from infrastructure import assets

pytestmark = pytest.mark.infrastructure

# What the Lambda python3.12 runtime brings: boto3 and what only botocore needs.
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "python-dateutil", "six", "urllib3"}
# Packages in a layer of their own, never the shared one (imported lazily by the code that needs them,
# tests/unit/test_lazy_imports.py): DuckDB for the Data Exports reader (docs/data-exports.md).
OWN_LAYERS = {"duckdb": Path(assets.LAYER_REQUIREMENTS).parent / "data-exports" / "requirements.txt"}
# Lambda: function code and layers together, unzipped, at most 250 MB.
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
# Issue 15: the Cost Explorer worker's code and layers, zipped as uploaded (bench/startup.py's goal).
WORKER_ZIPPED_GOAL = 10 * 1000 * 1000
_MARKERS = {
    "python_version": assets.LAMBDA_PYTHON,
    "python_full_version": f"{assets.LAMBDA_PYTHON}.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": assets.LAMBDA_ARCHITECTURE,
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "os_name": "posix",
}


def pins(path: Path) -> dict[str, tuple[str, set[str]]]:
    """name -> (version, extras) of every `name[extras]==version` line."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            requirement = Requirement(line)
            [specifier] = requirement.specifier
            found[canonicalize_name(requirement.name)] = (specifier.version, set(requirement.extras))
    return found


def closure(requirements: dict[str, tuple[str, set[str]]]) -> dict[str, str]:
    """Every distribution the requirements pull in on Lambda, at the version installed here."""
    seen: dict[str, str] = {}
    pending = [(name, extras) for name, (_, extras) in requirements.items()]
    while pending:
        name, extras = pending.pop()
        dist = distribution(name)
        seen[canonicalize_name(name)] = dist.version
        for line in dist.requires or []:
            requirement = Requirement(line)
            environments = [dict(_MARKERS, extra=extra) for extra in extras or {""}]
            if requirement.marker and not any(requirement.marker.evaluate(env) for env in environments):
                continue
            key = canonicalize_name(requirement.name)
            if key not in seen or requirement.extras:
                pending.append((key, set(requirement.extras)))
    return seen


@pytest.fixture(scope="module")
def layer_dir() -> Path:
    return assets.build_layer()


@pytest.fixture(scope="module")
def code_dir() -> Path:
    return assets.stage_code()


@pytest.fixture(scope="module")
def data_exports_layer_dir() -> Path:
    return assets.build_data_exports_layer()


def test_layer_pins_are_the_versions_requirements_txt_pins():
    layer = pins(assets.LAYER_REQUIREMENTS)
    project = pins(assets.ROOT / "requirements.txt")

    shared = set(layer) & set(project)
    assert shared >= {"aws-lambda-powertools", "pydantic", "jinja2"}
    assert {name: layer[name] for name in shared} == {name: project[name] for name in shared}


def test_every_third_party_import_of_the_lambda_code_is_in_the_layer_or_the_runtime():
    """An import added to lambdas/ without adding its package to the layer fails here, not in Lambda."""
    layer = set(pins(assets.LAYER_REQUIREMENTS))
    providers = packages_distributions()
    imported = set()
    for source in assets.SOURCE_PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {name for name in imported if name in providers and name != "lambdas"}
    needed = {canonicalize_name(dist) for name in third_party for dist in providers[name]}

    own = {name for name, requirements in OWN_LAYERS.items() if name in pins(requirements)}
    assert needed - layer - own - RUNTIME_PROVIDED == set()
    assert {"pydantic", "jinja2", "aws-lambda-powertools", "boto3"} <= needed
    assert own & layer == set()  # the shared layer stays small
    project = pins(Path(assets.LAYER_REQUIREMENTS).parents[1] / "requirements.txt")
    assert {name: pins(OWN_LAYERS[name])[name] for name in own} == {name: project[name] for name in own}


def test_layer_lists_the_whole_closure_at_the_tested_versions_and_nothing_the_runtime_brings():
    layer = pins(assets.LAYER_REQUIREMENTS)
    expected = {name: version for name, version in closure(layer).items() if name not in RUNTIME_PROVIDED}

    assert {name: version for name, (version, _) in layer.items()} == expected


def test_layer_is_built_for_the_lambda_runtime_not_this_machine(layer_dir):
    python = layer_dir / "python"
    shared_objects = [path.name for path in python.rglob("*.so")]

    assert any(re.search(r"pydantic_core.*cpython-312-x86_64-linux-gnu\.so$", str(p)) for p in python.rglob("*.so"))
    assert not any("cpython-311" in name for name in shared_objects)
    assert not any(name == "botocore" or name == "boto3" for name in (p.name for p in python.iterdir()))
    assert not list(python.rglob("*.pyc"))  # --no-compile: this machine's bytecode is useless there


def test_layer_is_rebuilt_only_when_its_requirements_change(layer_dir):
    stamp = layer_dir / ".fingerprint"
    before = stamp.stat().st_mtime_ns

    assert assets.build_layer() == layer_dir
    assert stamp.stat().st_mtime_ns == before
    assert stamp.read_text().strip() == assets.layer_fingerprint()


def test_code_asset_is_the_runtime_package_only(code_dir):
    files = sorted(str(path.relative_to(code_dir)) for path in code_dir.rglob("*") if path.is_file())

    assert {path.split("/", 1)[0] for path in files} == {"lambdas"}
    for handler in ("worker", "export_worker", "dispatcher", "feedback"):
        assert f"lambdas/handlers/{handler}.py" in files
    assert "lambdas/templates/report.html.j2" in files
    assert not [path for path in files if "__pycache__" in path or path.endswith(".pyc")]


def test_assets_fit_lambdas_limits_and_their_sizes_are_reported(layer_dir, code_dir, record_property):
    sizes = {
        name: (assets.zipped_size(path), assets.unzipped_size(path))
        for name, path in (("layer", layer_dir), ("code", code_dir))
    }
    for name, (zipped, unzipped) in sizes.items():
        record_property(f"{name}_zipped_bytes", zipped)
        record_property(f"{name}_unzipped_bytes", unzipped)

    assert sizes["layer"][1] + sizes["code"][1] < LAMBDA_UNZIPPED_LIMIT
    assert sizes["code"][0] < 1024 * 1024  # the code alone stays small: quick deploys, quick cold starts


def test_the_data_exports_layer_is_duckdb_alone_built_for_the_lambda_runtime(data_exports_layer_dir):
    python = data_exports_layer_dir / "python"
    installed = {canonicalize_name(path.name.split("-")[0]) for path in python.glob("*.dist-info")}

    assert installed == set(pins(assets.DATA_EXPORTS_REQUIREMENTS)) == {"duckdb"}
    # The extension module pip chose for CPython 3.12 on manylinux x86_64: the stable ABI (abi3) or 3.12's,
    # never this machine's interpreter's, and an x86-64 ELF (e_machine 0x3E).
    [extension] = python.glob("_duckdb*.so")
    assert re.fullmatch(r"_duckdb\.(abi3|cpython-312-x86_64-linux-gnu)\.so", extension.name), extension.name
    header = extension.read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == 0x3E
    assert (python / "duckdb" / "__init__.py").is_file()
    assert not list(python.rglob("*.pyc")) and not list(python.rglob("*.pyi"))
    stamp = data_exports_layer_dir / ".fingerprint"
    assert stamp.read_text().strip() == assets.layer_fingerprint(assets.DATA_EXPORTS_REQUIREMENTS)
    assert assets.layer_fingerprint(assets.DATA_EXPORTS_REQUIREMENTS) != assets.layer_fingerprint()


def test_the_worker_stays_under_10_mb_zipped_and_the_export_worker_under_lambdas_limit(
    layer_dir, code_dir, data_exports_layer_dir, record_property
):
    code, layer, duckdb = (assets.zipped_size(path) for path in (code_dir, layer_dir, data_exports_layer_dir))
    record_property("worker_zipped_bytes", code + layer)
    record_property("export_worker_zipped_bytes", code + layer + duckdb)

    assert code + layer <= WORKER_ZIPPED_GOAL
    assert not list((layer_dir / "python").glob("duckdb*"))  # DuckDB is never in the worker's layers
    unzipped = sum(assets.unzipped_size(path) for path in (code_dir, layer_dir, data_exports_layer_dir))
    assert unzipped < LAMBDA_UNZIPPED_LIMIT


# What the platform formats in a client's locale (lambdas/logic/render/format.py), for every locale Babel
# knows, printed as JSON: run once on the venv's full Babel data and once on the layer's pruned data.
_FORMATTED_IN_EVERY_LOCALE = """
import json, sys
from datetime import date
from decimal import Decimal
import babel.localedata
if len(sys.argv) > 1:
    babel.localedata._dirname = sys.argv[1]
from babel import Locale
from lambdas.logic.render.format import Formatter, day_label, period_label
from lambdas.models.report import Period
out = {"dates": [day_label(date(2026, 11, 27)), period_label(Period(start=date(2026, 10, 30), end=date(2026, 11, 2)))]}
for name in sorted(babel.localedata.locale_identifiers()):
    row = [str(Locale.parse(name))]
    for currency, amount in (("USD", "-1234567.891"), ("EUR", "0.5"), ("JPY", "98765.4"), ("BHD", "12.3456")):
        row.append(Formatter(currency, name).money(Decimal(amount)))
    euro = Formatter("EUR", name)
    row += [euro.percent(Decimal("-2.65")), euro.percent(Decimal("12")), euro.share(Decimal(1), Decimal(3))]
    out[name] = row
print(json.dumps(out, ensure_ascii=False))
"""


def test_pruned_locale_data_formats_every_locale_exactly_as_the_full_data(layer_dir):
    """Every locale a client may configure is still in the layer, and formats amounts, percentages
    and the report's (English) dates exactly as Babel's full data does."""
    import json
    import subprocess
    import sys

    pruned = layer_dir / "python" / "babel" / "locale-data"

    def formatted(*argv: str) -> dict[str, list[str]]:
        result = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
            [sys.executable, "-c", _FORMATTED_IN_EVERY_LOCALE, *argv],
            capture_output=True,
            text=True,
            check=True,
            cwd=assets.ROOT,
        )
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    full, layer = formatted(), formatted(str(pruned))

    assert len(full) > 1000 and full["de_DE"][2] == "0,50\xa0€"
    assert layer == full


def test_layer_is_pruned_of_caches_stubs_bookkeeping_and_unused_locale_data(layer_dir):
    python = layer_dir / "python"
    files = [path for path in python.rglob("*") if path.is_file()]

    assert not [path for path in files if path.suffix in (".pyc", ".pyi") or "__pycache__" in path.parts]
    assert not [path for path in files if path.parent.name.endswith(".dist-info") and path.name == "RECORD"]
    assert all((dist / "METADATA").is_file() for dist in python.glob("*.dist-info"))
    locale_data = python / "babel" / "locale-data"
    assert (locale_data / "de_DE.dat").is_file() and (locale_data / "root.dat").is_file()
    import pickle

    german = pickle.loads((locale_data / "de.dat").read_bytes())  # noqa: S301 - the layer's own Babel data
    english = pickle.loads((locale_data / "en.dat").read_bytes())  # noqa: S301
    assert "currency_formats" in german and "languages" not in german and "months" not in german
    assert "months" in english  # dates are written in English

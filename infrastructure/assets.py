"""The two Lambda assets, built on this machine without Docker.

- The layer: `layers/requirements.txt` installed by pip from manylinux wheels for the Lambda
  runtime's CPython (never from source, never for this machine's platform) into
  `.build/layer/python`. Rebuilt only when the requirements or the target change.
- The code: a copy of `lambdas/` (its Python files and templates) in `.build/code`, so the
  asset holds the runtime package and nothing else of the repository.

x86_64, not the cheaper arm64: css-inline (pinned in requirements.txt) publishes Linux aarch64
wheels only for musl, which Lambda's glibc runtime cannot load.

`python -m infrastructure.assets [layer|code|sizes]` runs a step by hand (`make layer`).
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".build"
LAYER_REQUIREMENTS = ROOT / "layers" / "requirements.txt"
LAYER_DIR = BUILD / "layer"
CODE_DIR = BUILD / "code"
SOURCE_PACKAGE = ROOT / "lambdas"

LAMBDA_PYTHON = "3.12"
LAMBDA_ARCHITECTURE = "x86_64"
# Lambda's python3.12 runtime is Amazon Linux 2023 (glibc 2.34): both tags load there.
WHEEL_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
_STAMP = ".fingerprint"
_CODE_SUFFIXES = {".py", ".j2", ".css", ".html", ".txt", ".json"}


def layer_fingerprint() -> str:
    digest = hashlib.sha256(LAYER_REQUIREMENTS.read_bytes())
    digest.update(f"{LAMBDA_PYTHON}|{'|'.join(WHEEL_PLATFORMS)}".encode())
    return digest.hexdigest()


def layer_is_current() -> bool:
    stamp = LAYER_DIR / _STAMP
    return stamp.is_file() and stamp.read_text().strip() == layer_fingerprint()


def build_layer(*, force: bool = False) -> Path:
    """`.build/layer` (holding `python/`), rebuilt only when layers/requirements.txt changed."""
    if layer_is_current() and not force:
        return LAYER_DIR
    shutil.rmtree(LAYER_DIR, ignore_errors=True)
    target = LAYER_DIR / "python"
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
            str(LAYER_REQUIREMENTS),
        ],
        check=True,
    )
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts: nothing in Lambda runs them
    (LAYER_DIR / _STAMP).write_text(layer_fingerprint() + "\n")
    return LAYER_DIR


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
    elif step == "code":
        print(f"code: {stage_code()}")
    elif step == "sizes":
        for name, path in (("layer", build_layer()), ("code", stage_code())):
            print(f"{name}: {zipped_size(path) / 1e6:.1f} MB zipped, {unzipped_size(path) / 1e6:.1f} MB unzipped")
    else:
        print("usage: python -m infrastructure.assets [layer [--force]|code|sizes]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""`make package`: deployable zips for python3.13 on arm64, without Docker or a local python3.13.

The core layer gets manylinux2014_aarch64 wheels for CPython 3.13 (uv pip --python-platform
--python-version --only-binary; pip's --platform works the same), minus what the runtime ships
(boto3 and its dependencies), plus the directormatch package under python/; each function zip
holds its app.py.
The same layout `sam build` (BuildMethod: makefile) produces. Prints each artifact's size.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build"
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
# uv pip, like pip's --platform/--python-version, picks wheels for Lambda, not for this machine.
UV_TARGET = ["--python-platform", "aarch64-manylinux2014", "--python-version", "3.13"]
UV_TARGET += ["--only-binary", ":all:", "--no-compile", "--quiet"]
# The python3.13 Lambda runtime ships these (boto3 and its dependencies); the layer need not.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3")


def zip_dir(source: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(source))


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build_layer() -> tuple[Path, int]:
    staging = OUT / "layer"
    site = staging / "python"
    site.mkdir(parents=True)
    requirements = ROOT / "layers" / "core" / "requirements.txt"
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            sys.executable,
            "-m",
            "uv",
            "pip",
            "install",
            *UV_TARGET,
            "-r",
            str(requirements),
            "--target",
            str(site),
        ],
        check=True,
    )
    for name in RUNTIME_PROVIDED:
        for path in [
            *site.glob(name),
            *site.glob(f"{name}-*.dist-info"),
            *site.glob(f"python_{name}-*.dist-info"),
        ]:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    shutil.copytree(
        ROOT / "layers" / "core" / "python" / "directormatch",
        site / "directormatch",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    for metadata in site.glob("*.dist-info"):
        for extra in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
            (metadata / extra).unlink(missing_ok=True)
    target = OUT / "core-layer.zip"
    zip_dir(staging, target)
    return target, size_of(staging)


def build_functions() -> list[tuple[Path, int]]:
    built = []
    for handler in sorted((ROOT / "functions").glob("*/app.py")):
        staging = OUT / "functions" / handler.parent.name
        staging.mkdir(parents=True)
        shutil.copy2(handler, staging / "app.py")
        target = OUT / f"{handler.parent.name}.zip"
        zip_dir(staging, target)
        built.append((target, size_of(staging)))
    return built


def main() -> int:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    layer, layer_unzipped = build_layer()
    functions = build_functions()
    aarch64 = [p.name for p in (OUT / "layer" / "python").rglob("*aarch64*.so")]
    print(f"{'artifact':<24}{'zipped':>12}{'unzipped':>12}")
    for path, unzipped in [(layer, layer_unzipped), *functions]:
        print(f"{path.name:<24}{path.stat().st_size / 1024:>10.1f}KB{unzipped / 1024:>10.1f}KB")
    biggest = layer_unzipped + max(size for _, size in functions)
    print(f"largest function + layer unzipped: {biggest / 1024 / 1024:.1f} MB (Lambda limit 250 MB)")
    print(f"native modules built for aarch64: {', '.join(sorted(aarch64)) or 'none'}")
    if not aarch64:
        print("expected aarch64 native modules (pydantic_core)", file=sys.stderr)
        return 1
    return 0 if biggest < LAMBDA_UNZIPPED_LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())

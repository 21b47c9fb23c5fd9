"""`make package`: the layer and the functions as `sam build` builds them (each Makefile's
build-<LogicalId> target with ARTIFACTS_DIR). Every third-party file ships exactly as released, and the
layer carries CPython 3.13 bytecode that Lambda uses as it is.

The build downloads the arm64 wheels from PyPI (marked `network`; about 10 s with pip's cache)."""

from __future__ import annotations

import base64
import csv
import hashlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OWN_PACKAGE = "directormatch"
# What the python3.13 runtime ships (the layer leaves it out) and what Lambda never runs.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
# The layer's bytecode is CPython 3.13's; reading it needs the same interpreter (the venv's, as a rule).
needs_python313 = pytest.mark.skipif(sys.version_info[:2] != (3, 13), reason="the venv's python is not 3.13")
# PEP 552: the pyc header's flags (bytes 4-8): bit 0 hash-based, bit 1 check_source.
UNCHECKED_HASH = 0b01


def record_hash(data: bytes) -> str:
    """A file's hash as a wheel's RECORD writes it (PEP 376 / 427)."""
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def recorded(site: Path) -> dict[str, str]:
    """Every file the layer's distributions list in their RECORD, with the released file's hash."""
    hashes = {}
    for record in site.glob("*.dist-info/RECORD"):
        with record.open(newline="", encoding="utf-8") as rows:
            for path, digest, _size in csv.reader(rows):
                hashes[path] = digest
    return hashes


def third_party_files(site: Path) -> Iterator[Path]:
    for path in site.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and path.parts[len(site.parts)] != OWN_PACKAGE:
            yield path


def not_as_released(site: Path) -> list[str]:
    """Third-party files of the layer that differ from their release, or that no RECORD lists.
    A RECORD lists itself without a hash; pip's INSTALLER and REQUESTED it hashes as written."""
    hashes = recorded(site)
    differing = []
    for path in third_party_files(site):
        name = path.relative_to(site).as_posix()
        expected = hashes.get(name)
        if expected is None or (expected and expected != record_hash(path.read_bytes())):
            differing.append(name)
    return sorted(differing)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("package")
    subprocess.run(["make", "--no-print-directory", "package", f"PACKAGE_DIR={out}"], cwd=ROOT, check=True)
    return out


@pytest.fixture(scope="module")
def site(built: Path) -> Path:
    return built / "CoreLayer" / "python"


@pytest.mark.network
def test_every_third_party_file_in_the_layer_is_as_released(site: Path) -> None:
    assert len(list(site.glob("*.dist-info"))) >= 10  # the layer's dependencies, each with its RECORD
    assert not_as_released(site) == []
    released = recorded(site)
    shipped = {p.relative_to(site).as_posix() for p in third_party_files(site)}
    # What a RECORD lists and the layer lacks: console scripts only (bin/ is left out)
    assert {path for path in released if path not in shipped and not path.startswith("../")} == set()


def test_a_changed_or_unlisted_file_is_reported(tmp_path: Path) -> None:
    # Given a distribution as pip installs it: its files, and their hashes in its RECORD
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("from pkg.core import *\n")
    (package / "core.py").write_text("X = 1\n")
    info = tmp_path / "pkg-1.0.dist-info"
    info.mkdir()
    rows = [f"pkg/{n},{record_hash((package / n).read_bytes())},1" for n in ("__init__.py", "core.py")]
    (info / "RECORD").write_text("\n".join([*rows, "pkg-1.0.dist-info/RECORD,,"]) + "\n")
    (tmp_path / OWN_PACKAGE).mkdir()
    (tmp_path / OWN_PACKAGE / "app.py").write_text("ours, not in any RECORD\n")
    assert not_as_released(tmp_path) == []

    # When a build step rewrites one file and adds another
    (package / "__init__.py").write_text("def __getattr__(name): ...\n")
    (package / "extra.py").write_text("")

    # Then both are reported
    assert not_as_released(tmp_path) == ["pkg/__init__.py", "pkg/extra.py"]


@pytest.mark.network
def test_the_layer_leaves_out_what_the_runtime_ships_and_holds_arm64_natives(site: Path) -> None:
    top = {p.name for p in site.iterdir()}
    assert not [name for name in top if name.split("-")[0].removeprefix("python_") in RUNTIME_PROVIDED]
    assert not [name for name in top if name.removesuffix(".py") in RUNTIME_PROVIDED]
    assert "bin" not in top
    assert (site / OWN_PACKAGE / "__init__.py").is_file()
    assert list(site.glob("pydantic_core/*aarch64*.so"))


@pytest.mark.network
def test_each_function_holds_its_handler_as_written(built: Path) -> None:
    for handler in sorted((ROOT / "functions").glob("*/app.py")):
        artifact = built / f"{handler.parent.name.capitalize()}Function"
        assert [p.name for p in artifact.iterdir()] == ["app.py"]
        assert (artifact / "app.py").read_bytes() == handler.read_bytes()


@pytest.mark.network
@needs_python313
def test_every_layer_module_has_unchecked_hash_bytecode_with_its_lambda_path(site: Path) -> None:
    sources = [p for p in site.rglob("*.py") if "__pycache__" not in p.parts]
    missing = [p for p in sources if not (p.parent / "__pycache__" / f"{p.stem}.cpython-313.pyc").is_file()]
    assert sources
    assert missing == []
    pyc = site / OWN_PACKAGE / "__pycache__" / "errors.cpython-313.pyc"
    assert int.from_bytes(pyc.read_bytes()[4:8], "little") == UNCHECKED_HASH
    shown = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import marshal; print(marshal.loads(open({str(pyc)!r}, 'rb').read()[16:]).co_filename)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == f"/opt/python/{OWN_PACKAGE}/errors.py"


@pytest.mark.network
@needs_python313
def test_the_bytecode_runs_whatever_the_source_after_unzipping(site: Path, tmp_path: Path) -> None:
    # Given a layer module whose source no longer matches its .pyc (new mtime and text, as after unzipping)
    module = tmp_path / "idna" / "package_data.py"
    (module.parent / "__pycache__").mkdir(parents=True)
    (module.parent / "__init__.py").write_text("")
    module.write_text("__version__ = 'source'\n")
    pyc = Path("idna", "__pycache__", "package_data.cpython-313.pyc")
    (tmp_path / pyc).write_bytes((site / pyc).read_bytes())

    # When it is imported without writing bytecode (Lambda's /opt is read-only)
    probe = (
        "import idna.package_data as m; print(m.__version__, m.__spec__.cached.endswith('.cpython-313.pyc'))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-B", "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r}); {probe}"],
        capture_output=True,
        text=True,
        check=True,
    )

    # Then the compiled module runs, not the source beside it
    assert done.stdout.split() == ["3.20", "True"]


@pytest.mark.network
def test_without_a_working_python313_the_layer_ships_sources_and_says_so(tmp_path: Path) -> None:
    # Given only a broken pyenv shim and another Python where a CPython 3.13 is looked for
    shim, older = tmp_path / "python3.13", tmp_path / "python3.11"
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.13: command not found' >&2\nexit 127\n")
    older.write_text("#!/bin/sh\nexit 1\n")  # answers the cache-tag check: not cpython-313
    for fake in (shim, older):
        fake.chmod(0o755)

    # When the package is built
    out = tmp_path / "package"
    done = subprocess.run(
        ["make", "--no-print-directory", "package", f"PACKAGE_DIR={out}", f"PY313_CANDIDATES={shim} {older}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    # Then it still builds, without bytecode, and warns
    assert "SOURCES ONLY" in done.stderr
    assert (out / "CoreLayer" / "python" / OWN_PACKAGE / "__init__.py").is_file()
    assert not list((out / "CoreLayer").rglob("*.pyc"))

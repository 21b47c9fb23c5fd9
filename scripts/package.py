"""`make package`: deployable zips for python3.13 on arm64, without Docker or a local python3.13.

The core layer gets manylinux2014_aarch64 wheels for CPython 3.13 (uv pip --python-platform
--python-version --only-binary; pip's --platform works the same), minus what the runtime ships
(boto3 and its dependencies), plus the directormatch package under python/, with two Powertools
package __init__s made lazy (layers/core/lazy_inits.py); each function zip holds its app.py.
The same layout `sam build` (BuildMethod: makefile) produces. Prints each artifact's size.

Bytecode: Lambda's /opt (layers) and /var/task (the function) are read-only, so a module shipped
without its .pyc is compiled again at every cold start. When a CPython 3.13 is found on this
machine (`find_python313`), every .py of the layer and of each function is compiled with it
(`compileall --invalidation-mode unchecked-hash`: unzipping changes the sources' mtimes, which
would void timestamp-checked .pyc; unchecked-hash .pyc are used as they are) and the zips keep
`__pycache__/*.cpython-313.pyc`. Without one the artifacts are still built, sources only, with a
warning. The finder is shared with the cold-start benchmark (bench/coldstart.py).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build"
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
# uv pip, like pip's --platform/--python-version, picks wheels for Lambda, not for this machine.
UV_TARGET = ["--python-platform", "aarch64-manylinux2014", "--python-version", "3.13"]
UV_TARGET += ["--only-binary", ":all:", "--no-compile", "--quiet"]
# Copies, not hardlinks to uv's cache: the layer build rewrites files in the tree it installs.
UV_TARGET += ["--link-mode", "copy"]
# The python3.13 Lambda runtime ships these (boto3 and its dependencies); the layer need not.
# six comes only for dateutil (nothing in the layer imports it). bin/ holds console scripts.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
NOT_FOR_LAMBDA = ("bin",)
# The layer's build step that makes some Powertools package __init__s lazy (sam build runs it too).
LAZY_INITS = ROOT / "layers" / "core" / "lazy_inits.py"
# Lambda's runtime: the .pyc it uses are named <module>.cpython-313.pyc.
CACHE_TAG = "cpython-313"
# Where each artifact is unpacked in Lambda (recorded in the .pyc as the source path).
LAYER_MOUNT = "/opt"
TASK_ROOT = "/var/task"
NO_PYTHON313_WARNING = (
    "WARNING: no CPython 3.13 found on this machine (looked in pyenv's versions, `python3.13` on "
    "PATH, `uv python find 3.13`): the artifacts are SOURCES ONLY, without .pyc. Lambda's /opt and "
    "/var/task are read-only, so every cold start will compile every module of the layer and of "
    "the function again. Install one (e.g. `pyenv install 3.13` or `uv python install 3.13`) and "
    "run `make package` again to ship bytecode."
)
_PROBE = "import sys; print(sys.implementation.cache_tag)"


def _version_key(path: str) -> tuple[int, ...]:
    """pyenv's 3.13.10 after 3.13.9: compare the version numbers in the path, not the text."""
    match = re.search(r"/versions/([0-9.]+)", path)
    return tuple(int(x) for x in match.group(1).split(".") if x) if match else ()


def _uv_command() -> list[str] | None:
    """uv as `make package` reaches it (`python3 -m uv`), else a `uv` on PATH."""
    if importlib.util.find_spec("uv") is not None:
        return [sys.executable, "-m", "uv"]
    found = shutil.which("uv")
    return [found] if found else None


def python313_candidates() -> Iterator[str]:
    """Where a CPython 3.13 may be, most likely first: pyenv's versions (where this project's
    Makefile looks too), `python3.13` on PATH (possibly a pyenv shim that does not work), then
    `uv python find 3.13` (asked only if the others were not it). `find_python313` checks each."""
    root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    pyenv = sorted(
        (str(p) for p in Path(root).glob("versions/3.13*/bin/python3.13")), key=_version_key, reverse=True
    )
    yield from pyenv
    on_path = shutil.which("python3.13")
    if on_path and on_path not in pyenv:
        yield on_path
    uv = _uv_command()
    if uv:
        try:
            found = subprocess.run(  # noqa: S603 - uv, fixed arguments
                [*uv, "python", "find", "3.13"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return
        if found.returncode == 0 and found.stdout.strip():
            yield found.stdout.strip().splitlines()[-1]


def is_python313(executable: str) -> bool:
    """True when `executable` runs and is CPython 3.13 (its .pyc are *.cpython-313.pyc)."""
    try:
        probe = subprocess.run(  # noqa: S603 - asks an interpreter its cache tag
            [executable, "-I", "-c", _PROBE], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0 and probe.stdout.strip() == CACHE_TAG


def find_python313(warn: bool = True) -> str | None:
    """A working CPython 3.13 on this machine to compile bytecode with, or None (then, with `warn`,
    a warning on stderr that the artifacts will be sources only)."""
    for candidate in python313_candidates():
        if is_python313(candidate):
            return candidate
    if warn:
        print(NO_PYTHON313_WARNING, file=sys.stderr, flush=True)
    return None


def compile_bytecode(python: str, tree: Path, shown_as: str) -> bool:
    """Compile every .py under `tree` into __pycache__/*.cpython-313.pyc, unchecked-hash (PEP 552:
    used without looking at the source, whatever its mtime after unzipping). The .pyc record the
    path the file will have in Lambda (`shown_as`, e.g. /opt/python). -I: no PYTHONPYCACHEPREFIX or
    other PYTHON* variable of this shell redirects the output. False if some file did not compile."""
    done = subprocess.run(  # noqa: S603 - a CPython 3.13 and fixed arguments
        [
            python,
            "-I",
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
            str(tree),
            "-p",
            shown_as,
            str(tree),
        ],
        check=False,
    )
    return done.returncode == 0


def bytecode_coverage(tree: Path) -> tuple[int, int]:
    """(sources with a CPython 3.13 .pyc beside them, sources) under `tree`."""
    sources = [p for p in tree.rglob("*.py") if "__pycache__" not in p.parts]
    compiled = sum(1 for p in sources if (p.parent / "__pycache__" / f"{p.stem}.{CACHE_TAG}.pyc").is_file())
    return compiled, len(sources)


def zip_dir(source: Path, target: Path) -> None:
    """Zip `source`, keeping the CPython 3.13 bytecode (__pycache__/*.cpython-313.pyc) and no other
    interpreter's or optimisation level's .pyc (Lambda runs without -O)."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(source.rglob("*")):
            if not path.is_file():
                continue
            if path.suffix == ".pyc" and not path.name.endswith(f".{CACHE_TAG}.pyc"):
                continue
            if "__pycache__" in path.parts and path.suffix != ".pyc":
                continue
            archive.write(path, path.relative_to(source))


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build_layer() -> Path:
    """The layer's tree (staging/python/...), sources only."""
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
    prune_layer(site)
    shutil.copytree(
        ROOT / "layers" / "core" / "python" / "directormatch",
        site / "directormatch",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    make_inits_lazy(site)
    for metadata in site.glob("*.dist-info"):
        for extra in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
            (metadata / extra).unlink(missing_ok=True)
    (site / ".lock").unlink(missing_ok=True)  # uv's lock on the --target directory
    for stale in site.rglob("__pycache__"):  # only the bytecode compiled below ships
        shutil.rmtree(stale, ignore_errors=True)
    return staging


def prune_layer(site: Path) -> None:
    """Take out what the runtime ships (RUNTIME_PROVIDED) and what Lambda never runs (bin/)."""
    for name in RUNTIME_PROVIDED:
        for path in [
            *site.glob(name),
            *site.glob(f"{name}-*.dist-info"),
            *site.glob(f"python_{name}-*.dist-info"),
            *site.glob(f"{name}.py"),
        ]:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    for name in NOT_FOR_LAMBDA:
        shutil.rmtree(site / name, ignore_errors=True)


def lazy_inits() -> ModuleType:
    """layers/core/lazy_inits.py, the layer's build step. Loaded from its path: `sam build` runs it
    from a copy of layers/core, where it stands alone, so it is not part of a package here."""
    spec = importlib.util.spec_from_file_location("lazy_inits", LAZY_INITS)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_inits_lazy(site: Path) -> list[str]:
    """What the layer's Makefile does to its python/ directory: the packages rewritten."""
    rewritten: list[str] = lazy_inits().rewrite(site)
    return rewritten


def build_functions() -> list[Path]:
    """One tree per function (staging/app.py), sources only."""
    built = []
    for handler in sorted((ROOT / "functions").glob("*/app.py")):
        staging = OUT / "functions" / handler.parent.name
        staging.mkdir(parents=True)
        shutil.copy2(handler, staging / "app.py")
        built.append(staging)
    return built


def human(size: float) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.1f} KB"


def modules(count: int) -> str:
    return f"{count} module{'s' if count != 1 else ''}"


def main() -> int:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    python313 = find_python313()
    layer = build_layer()
    functions = build_functions()
    trees = [(layer, OUT / "core-layer.zip", LAYER_MOUNT)]
    trees += [(tree, OUT / f"{tree.name}.zip", TASK_ROOT) for tree in functions]
    complete = True
    if python313:
        print(f"compiling bytecode with {python313} (CPython 3.13, unchecked-hash .pyc)", flush=True)
        for tree, _, mount in trees:
            complete = compile_bytecode(python313, tree, mount) and complete
    rows = []
    for tree, target, _ in trees:
        zip_dir(tree, target)
        compiled, sources = bytecode_coverage(tree)
        rows.append((target, size_of(tree), compiled, sources))

    aarch64 = [p.name for p in (layer / "python").rglob("*aarch64*.so")]
    print(f"{'artifact':<20}{'zipped':>10}{'unzipped':>11}  bytecode (CPython 3.13 .pyc)")
    for target, unzipped, compiled, sources in rows:
        if compiled == sources and sources:
            bytecode = f"yes, all {modules(sources)}"
        elif compiled:
            bytecode = f"PARTIAL: {compiled} of {modules(sources)}"
        else:
            bytecode = f"no: {modules(sources)} compile at every cold start"
        print(f"{target.name:<20}{human(target.stat().st_size):>10}{human(unzipped):>11}  {bytecode}")
    layer_unzipped = rows[0][1]
    biggest = layer_unzipped + max(unzipped for _, unzipped, _, _ in rows[1:])
    print(f"largest function + layer unzipped: {biggest / 1024 / 1024:.1f} MB (Lambda limit 250 MB)")
    print(f"native modules built for aarch64: {', '.join(sorted(aarch64)) or 'none'}")
    if not python313:
        print(NO_PYTHON313_WARNING, file=sys.stderr)
    elif not complete:
        print(
            "WARNING: some modules did not compile (above): they compile at every cold start", file=sys.stderr
        )
    if not aarch64:
        print("expected aarch64 native modules (pydantic_core)", file=sys.stderr)
        return 1
    return 0 if biggest < LAMBDA_UNZIPPED_LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())

"""scripts/package.py (`make package`): the bytecode it ships, the zips, the python3.13 finder; and the
Lambda-like environment the cold-start benchmark imports the handlers in."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest

from scripts import package

# PEP 552: the pyc header's flags (bytes 4-8): bit 0 hash-based, bit 1 check_source.
UNCHECKED_HASH = 0b01


def pyc_flags(data: bytes) -> int:
    return int.from_bytes(data[4:8], "little")


def fake_interpreter(path: Path, answer: str, code: int = 0) -> str:
    """An executable that answers the finder's probe like an interpreter would (or fails)."""
    path.write_text(f"#!/bin/sh\necho {answer}\nexit {code}\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_zip_keeps_cpython313_bytecode_and_drops_other_pyc(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    cache = tree / "pkg" / "__pycache__"
    cache.mkdir(parents=True)
    (tree / "pkg" / "mod.py").write_text("X = 1\n")
    (cache / "mod.cpython-313.pyc").write_bytes(b"313")
    (cache / "mod.cpython-311.pyc").write_bytes(b"311")
    (cache / "mod.cpython-313.opt-1.pyc").write_bytes(b"opt")
    (cache / "notes.txt").write_text("not bytecode")
    target = tmp_path / "out.zip"

    package.zip_dir(tree, target)

    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == ["pkg/__pycache__/mod.cpython-313.pyc", "pkg/mod.py"]
        assert archive.read("pkg/__pycache__/mod.cpython-313.pyc") == b"313"


def test_bytecode_coverage_counts_sources_with_their_pyc(tmp_path: Path) -> None:
    (tmp_path / "__pycache__").mkdir()
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.py").write_text("")
    (tmp_path / "__pycache__" / "a.cpython-313.pyc").write_bytes(b"")
    (tmp_path / "__pycache__" / "b.cpython-311.pyc").write_bytes(b"")

    assert package.bytecode_coverage(tmp_path) == (1, 3)


@pytest.fixture(scope="module")
def python313() -> str:
    found = package.find_python313(warn=False)
    if found is None:
        pytest.skip("no CPython 3.13 on this machine (pyenv, python3.13 on PATH, uv python find 3.13)")
    return found


def test_compiled_bytecode_is_unchecked_hash_and_used_whatever_the_source(
    tmp_path: Path, python313: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = tmp_path / "layer"
    (tree / "python" / "pkg").mkdir(parents=True)
    (tree / "python" / "pkg" / "__init__.py").write_text("")
    module = tree / "python" / "pkg" / "mod.py"
    module.write_text("VALUE = 'compiled'\n")
    # A PYTHONPYCACHEPREFIX in the shell must not send the .pyc elsewhere.
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", str(tmp_path / "elsewhere"))

    assert package.compile_bytecode(python313, tree, "/opt")

    pyc = tree / "python" / "pkg" / "__pycache__" / "mod.cpython-313.pyc"
    assert pyc_flags(pyc.read_bytes()) == UNCHECKED_HASH
    assert package.bytecode_coverage(tree) == (2, 2)
    assert not (tmp_path / "elsewhere").exists()
    package.zip_dir(tree, tmp_path / "layer.zip")
    with zipfile.ZipFile(tmp_path / "layer.zip") as archive:
        assert pyc_flags(archive.read("python/pkg/__pycache__/mod.cpython-313.pyc")) == UNCHECKED_HASH

    # As after unzipping in Lambda: the source is not what was compiled (new mtime, even new text),
    # and the unchecked-hash .pyc is still what runs; the traceback path is the one in Lambda.
    module.write_text("VALUE = 'source'\n")
    probe = "import pkg.mod as m; print(m.VALUE, m.__spec__.cached.endswith('.cpython-313.pyc'))"
    done = subprocess.run(
        [python313, "-I", "-B", "-c", f"import sys; sys.path.insert(0, {str(tree / 'python')!r}); {probe}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["compiled", "True"]
    shown = subprocess.run(
        [
            python313,
            "-I",
            "-c",
            f"import marshal; print(marshal.loads(open({str(pyc)!r}, 'rb').read()[16:]).co_filename)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == "/opt/python/pkg/mod.py"


def test_finder_warns_and_returns_none_when_nothing_is_found(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(package, "python313_candidates", lambda: iter([]))

    assert package.find_python313() is None
    assert "SOURCES ONLY" in capsys.readouterr().err

    assert package.find_python313(warn=False) is None
    assert capsys.readouterr().err == ""


def test_finder_skips_broken_shims_and_other_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shim = fake_interpreter(tmp_path / "shim", "'pyenv: python3.13: command not found'", code=127)
    older = fake_interpreter(tmp_path / "python3.11", "cpython-311")
    right = fake_interpreter(tmp_path / "python3.13", "cpython-313")
    missing = str(tmp_path / "no-such-python")

    monkeypatch.setattr(package, "python313_candidates", lambda: [missing, shim, older])
    assert package.find_python313() is None
    assert "SOURCES ONLY" in capsys.readouterr().err

    monkeypatch.setattr(package, "python313_candidates", lambda: [shim, older, right])
    assert package.find_python313() == right


def test_candidates_prefer_the_newest_pyenv_313(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for version in ("3.13.2", "3.13.10", "3.12.1"):
        bin_dir = tmp_path / "versions" / version / "bin"
        bin_dir.mkdir(parents=True)
        (bin_dir / f"python{version.rsplit('.', 1)[0]}").write_text("")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(package, "_uv_command", lambda: None)

    assert list(package.python313_candidates()) == [
        str(tmp_path / "versions" / "3.13.10" / "bin" / "python3.13"),
        str(tmp_path / "versions" / "3.13.2" / "bin" / "python3.13"),
    ]


def test_cold_start_environment_is_lambdas_without_a_runtime_api(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.common import lambda_like_environment

    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")

    env = lambda_like_environment("IntakeFunction", invocation=False)

    assert "AWS_LAMBDA_RUNTIME_API" not in env
    assert "POWERTOOLS_TRACE_DISABLED" not in env
    assert "_X_AMZN_TRACE_ID" not in env  # none during Lambda's init
    assert Path(env["LAMBDA_TASK_ROOT"]) == package.ROOT / "functions" / "intake"
    assert env["_HANDLER"] == "app.lambda_handler"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "IntakeFunction"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/IntakeFunction"
    assert env["TZ"] == ":UTC"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"]
    assert "Sampled=0" in lambda_like_environment("IntakeFunction")["_X_AMZN_TRACE_ID"]
    assert os.environ["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:9001"  # the caller's own is untouched


def test_the_layer_leaves_out_what_the_runtime_ships_and_console_scripts(tmp_path: Path) -> None:
    site = tmp_path / "python"
    kept = [
        "jinja2/__init__.py",
        "jinja2-3.1.6.dist-info/METADATA",
        "typing_extensions.py",
        "ulid/__init__.py",
    ]
    dropped = [
        "boto3/__init__.py",
        "botocore-1.44.8.dist-info/METADATA",
        "dateutil/tz.py",
        "python_dateutil-2.9.0.dist-info/METADATA",
        "six.py",
        "six-1.17.0.dist-info/METADATA",
        "bin/jp.py",
        "bin/email_validator",
    ]
    for name in kept + dropped:
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text("x")
    package.prune_layer(site)
    assert sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file()) == sorted(kept)

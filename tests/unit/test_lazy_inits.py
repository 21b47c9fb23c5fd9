"""layers/core/lazy_inits.py: the layer build's lazy Powertools package __init__s (issue 8, cold start).

The layer ships them; the venv the other tests run in has Powertools as released. So these tests
build the layer's rewrite of the installed Powertools in a directory put first on PYTHONPATH, and
check it in fresh interpreters: same names, same objects, fewer modules, and the handlers' own tests
passing on it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from scripts.package import lazy_inits, make_inits_lazy

ROOT = Path(__file__).resolve().parents[2]
PURELIB = Path(sysconfig.get_paths()["purelib"])
LAZY = lazy_inits()

NAMES_OF = """
import importlib, json, sys
found = {}
for package in sys.argv[1:]:
    module = importlib.import_module(package)
    values = {name: getattr(module, name) for name in module.__all__}
    names = sorted((n, getattr(v, "__module__", ""), getattr(v, "__qualname__", n))
                   for n, v in values.items())
    found[package] = {"file": module.__file__, "names": names}
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The installed Powertools, rewritten as the layer build rewrites it."""
    site = tmp_path_factory.mktemp("layer-site")
    shutil.copytree(PURELIB / "aws_lambda_powertools", site / "aws_lambda_powertools")
    assert make_inits_lazy(site) == list(LAZY.LAZY_PACKAGES), "the installed Powertools no longer takes it"
    return site


def environment(site: Path | None) -> dict[str, str]:
    """This environment, with `site` (when given) first on PYTHONPATH."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if site:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH")) if p)
    return env


def python(code: str, *args: str, site: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=environment(site),
        capture_output=True,
        text=True,
        check=True,
    )


def test_every_exported_name_is_the_same_object_as_upstream(shipped: Path) -> None:
    upstream = json.loads(python(NAMES_OF, *LAZY.LAZY_PACKAGES).stdout)
    lazy = json.loads(python(NAMES_OF, *LAZY.LAZY_PACKAGES, site=shipped).stdout)
    for package in LAZY.LAZY_PACKAGES:
        assert lazy[package]["file"].startswith(str(shipped)), "the rewrite was not the one imported"
        assert not upstream[package]["file"].startswith(str(shipped))
        assert lazy[package]["names"] == upstream[package]["names"]
        assert len(lazy[package]["names"]) > 10
    source = (shipped / "aws_lambda_powertools" / "event_handler" / "__init__.py").read_text()
    assert LAZY.MARKER in source


def test_a_resolver_no_longer_imports_every_other_resolver_and_event(shipped: Path) -> None:
    code = (
        "import sys\nfrom aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response\n"
        "print(' '.join(sorted(sys.modules)))"
    )
    unwanted = {
        "asyncio",
        "aws_lambda_powertools.event_handler.appsync",
        "aws_lambda_powertools.event_handler.bedrock_agent",
        "aws_lambda_powertools.utilities.data_classes.kafka_event",
        "aws_lambda_powertools.utilities.data_classes.code_pipeline_job_event",
    }
    upstream = set(python(code).stdout.split())
    lazy = set(python(code, site=shipped).stdout.split())
    assert unwanted <= upstream  # what the rewrite is for: upstream loads them all
    assert not unwanted & lazy
    assert "aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event" in lazy


def test_star_import_dir_and_unknown_names_behave_as_upstream(shipped: Path) -> None:
    code = (
        "from aws_lambda_powertools.utilities.data_classes import *\n"
        "import aws_lambda_powertools.utilities.data_classes as dc\n"
        "import sys\n"
        "submodule = sys.modules['aws_lambda_powertools.utilities.data_classes.event_source']\n"
        "assert callable(event_source) and dc.event_source is submodule.event_source\n"
        "assert SQSEvent.__name__ == 'SQSEvent' and 'SQSEvent' in dir(dc)\n"
        "try:\n    dc.NoSuchEvent\nexcept AttributeError as e:\n    print(e)\n"
    )
    assert "has no attribute 'NoSuchEvent'" in python(code, site=shipped).stdout


def test_a_name_that_shadows_its_own_submodule_stays_eager() -> None:
    source = '"""Doc."""\nfrom .thing import Thing, helper\nfrom .tool import tool\n'
    source += '__all__ = ["Thing", "helper", "tool"]\n'
    lazy = LAZY.lazy_source(source, "pkg")
    assert "from .tool import tool" in lazy
    assert "'Thing': ('thing', 'Thing')" in lazy
    assert "'helper': ('thing', 'helper')" in lazy
    assert "'tool':" not in lazy.split("_WHERE = ")[1].split("\n")[0]
    assert lazy.startswith('"""Doc."""')


@pytest.mark.parametrize(
    "source",
    [
        "from .a import A\n__all__ = ['A']\nA.configure()\n",  # code beyond re-exports
        "from os import path\n__all__ = ['path']\n",  # a name from another package
        "from .a import A\n",  # no __all__
    ],
)
def test_any_other_init_is_left_eager_with_a_warning(
    source: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init = tmp_path / "pkg" / "__init__.py"
    init.parent.mkdir()
    init.write_text(source)
    assert LAZY.rewrite(tmp_path, ("pkg",)) == []
    assert init.read_text() == source
    assert "left eager" in capsys.readouterr().err


def test_rewriting_twice_changes_nothing_more(tmp_path: Path) -> None:
    init = tmp_path / "pkg" / "__init__.py"
    init.parent.mkdir()
    init.write_text("from .a import A\n__all__ = ['A']\n")
    assert LAZY.rewrite(tmp_path, ("pkg",)) == ["pkg"]
    once = init.read_text()
    assert LAZY.rewrite(tmp_path, ("pkg",)) == ["pkg"]
    assert init.read_text() == once


def test_the_handlers_that_use_them_pass_their_tests_on_the_shipped_powertools(shipped: Path) -> None:
    """intake and respond use the event handler, match the batch processor's stream events."""
    tests = ["tests/integration/test_intake.py", "tests/integration/test_respond.py"]
    tests += ["tests/integration/test_match.py"]
    check = "import aws_lambda_powertools.event_handler as m, sys; assert m.__file__.startswith(sys.argv[1])"
    python(check, str(shipped), site=shipped)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *tests],
        cwd=ROOT,
        env=environment(shipped),
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert " passed" in run.stdout
    assert "failed" not in run.stdout


def test_a_hardlinked_init_is_replaced_not_written_through(tmp_path: Path) -> None:
    """uv installs packages as hardlinks to its cache: an edit in place would change the cache and
    every venv linked to it."""
    cached = tmp_path / "cache" / "__init__.py"
    cached.parent.mkdir()
    original = "from .a import A\n__all__ = ['A']\n"
    cached.write_text(original)
    installed = tmp_path / "site" / "pkg" / "__init__.py"
    installed.parent.mkdir(parents=True)
    os.link(cached, installed)
    assert LAZY.rewrite(tmp_path / "site", ("pkg",)) == ["pkg"]
    assert LAZY.MARKER in installed.read_text()
    assert cached.read_text() == original
    assert sorted(p.name for p in installed.parent.iterdir()) == ["__init__.py"]

"""A layer build step: make the `__init__` of some Powertools packages lazy (PEP 562).

`python3 lazy_inits.py SITE_DIR` rewrites, under SITE_DIR (the layer's python/ directory), the
`__init__.py` of each package in LAZY_PACKAGES. Upstream they re-export every class of every
submodule, so importing one resolver imports them all: `event_handler` loads the AppSync resolver,
which imports asyncio, and `utilities.data_classes` loads some 40 event classes. The rewritten
`__init__` keeps the same `__all__` and names, and imports a submodule when one of its names is
first asked for, as upstream did for the parser's envelopes
(aws-powertools/powertools-lambda-python#8405). Measured: about 24 ms of intake's cold start
(bench/README.md).

Only an `__init__` made of a docstring, `from <submodule> import <names>` lines and `__all__` is
rewritten; any other shape (a Powertools upgrade that changed it) is left as it is, eager and
correct, with a warning. tests/unit/test_lazy_inits.py checks the installed version still takes
the rewrite, and that every name resolves to the same object either way.

It lives beside the layer's Makefile because `sam build` runs that Makefile from a copy of this
directory; `make package` (scripts/package.py) runs it the same way.
"""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

LAZY_PACKAGES = (
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.data_classes",
)
MARKER = "# rewritten by the layer build (layers/core/lazy_inits.py): names load on first use"

_GETATTR = """

def __getattr__(name: str) -> object:
    try:
        submodule, attribute = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{submodule}"), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
"""


class NotPlainReexports(ValueError):
    """The `__init__` does more than re-export names from its submodules."""


def lazy_source(source: str, package: str) -> str:
    """The lazy `__init__` for `package` whose eager `__init__` is `source`."""
    tree = ast.parse(source)
    docstring = ast.get_docstring(tree, clean=False)
    where: dict[str, tuple[str, str]] = {}
    eager: list[str] = []
    exported: list[str] | None = None
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and node is tree.body[0]:
            continue
        if isinstance(node, ast.ImportFrom):
            submodule = _submodule(node, package)
            # `from .event_source import event_source`: importing the submodule would set the
            # package's attribute to the module, so a name shadowing its own submodule stays eager.
            if any((alias.asname or alias.name) == submodule.split(".")[0] for alias in node.names):
                eager.append(ast.unparse(node))
                continue
            for alias in node.names:
                where[alias.asname or alias.name] = (submodule, alias.name)
            continue
        if _assigns_all(node):
            exported = list(ast.literal_eval(node.value))  # type: ignore[attr-defined]
            continue
        raise NotPlainReexports(f"{package}: line {node.lineno} is not a re-export: {ast.unparse(node)[:60]}")
    if exported is None:
        raise NotPlainReexports(f"{package}: no __all__")
    lines = [f'"""{docstring}"""' if docstring else "", MARKER, "", "import importlib", ""]
    lines += [*eager, "", f"_WHERE = {where!r}", f"__all__ = {exported!r}"]
    return "\n".join(lines) + _GETATTR


def _submodule(node: ast.ImportFrom, package: str) -> str:
    if node.level == 1 and node.module:
        return node.module
    if node.level == 0 and node.module and node.module.startswith(f"{package}."):
        return node.module.removeprefix(f"{package}.")
    raise NotPlainReexports(f"{package}: line {node.lineno} imports from outside: {ast.unparse(node)}")


def _assigns_all(node: ast.stmt) -> bool:
    return isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["__all__"]


def rewrite(site: Path, packages: tuple[str, ...] = LAZY_PACKAGES) -> list[str]:
    """Rewrite each package's `__init__` under `site`; the packages rewritten (warnings for the rest)."""
    rewritten = []
    for package in packages:
        init = site.joinpath(*package.split("."), "__init__.py")
        if not init.is_file():
            print(f"WARNING: {package} is not in {site}; left as it is", file=sys.stderr)
            continue
        source = init.read_text(encoding="utf-8")
        if MARKER in source:
            rewritten.append(package)
            continue
        try:
            lazy = lazy_source(source, package)
        except NotPlainReexports as error:
            print(f"WARNING: {error}; left eager", file=sys.stderr)
            continue
        _replace(init, lazy)
        rewritten.append(package)
    return rewritten


def _replace(path: Path, text: str) -> None:
    """A new file in the old one's place, never a write through it: installers hardlink packages
    from their cache (uv does), and writing in place would change every linked copy."""
    fresh = path.with_name(f".{path.name}.lazy")
    fresh.write_text(text, encoding="utf-8")
    os.replace(fresh, path)


if __name__ == "__main__":
    done = rewrite(Path(sys.argv[1]))
    print(f"lazy __init__: {', '.join(done) or 'none'}")

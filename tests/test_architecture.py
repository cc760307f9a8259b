"""ARCHITECTURE.md's code map is the tree on disk, and the imports run the way it says."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARCHITECTURE = (REPO / "ARCHITECTURE.md").read_text()


def _has_code(path: Path) -> bool:
    """A package's `__init__.py` counts as a module when it defines something of its own."""
    tree = ast.parse(path.read_text())
    return any(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
               and node.name != "__getattr__"  # a lazy re-export, not code of its own
               for node in tree.body)


MODULES = sorted(
    p.relative_to(REPO).as_posix() for p in (REPO / "server").rglob("*.py")
    if p.name != "__init__.py" or _has_code(p)
)
# Which layers a module of each may import (besides itself): the pipeline runs one way.
MAY_IMPORT = {
    "model": set(),
    "edge": {"model", "errors", "settings"},
    "counting": {"model", "errors"},
    "stores": {"model", "errors", "edge", "counting", "settings", "observability"},
}


def test_every_path_the_code_map_names_exists() -> None:
    named = set(re.findall(r"`((?:server|sdk_js|bench|scripts|tests)/[^`*]+?)`", ARCHITECTURE))
    missing = sorted(path for path in named if not (REPO / path).exists())
    assert missing == []


def test_every_module_is_in_the_code_map() -> None:
    missing = [path for path in MODULES if f"`{path}`" not in ARCHITECTURE]
    assert missing == []


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _imports(path: Path) -> set[str]:
    """The gigmetrics modules `path` imports, as dotted names under `server`."""
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module.startswith("server"):
                found.add(module)
                found.update(f"{module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("server"))
    return found


def test_imports_run_one_way_along_the_pipeline() -> None:
    wrong = []
    for relative in MODULES:
        path = REPO / relative
        own = _layer(".".join(path.relative_to(REPO).with_suffix("").parts))
        if own not in MAY_IMPORT:
            continue  # the serving side may import anything below it
        for module in _imports(path):
            target = _layer(module)
            known = (REPO / Path(*module.split("."))).with_suffix(".py").exists() or (
                REPO / Path(*module.split("."))).is_dir()
            if known and target not in MAY_IMPORT[own] | {own, "server"}:
                wrong.append(f"{relative} imports {module}")
    assert wrong == []

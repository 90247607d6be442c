"""The layers of docs/architecture.md hold: the import contract passes, and fails on an upward import."""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
#: Imports inside functions allowed in the whole package; each must say why in a comment.
MAX_FUNCTION_IMPORTS = 10


def run_contract(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--config", str(tree / ".importlinter"), "--no-cache"],
                          cwd=tree, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"})


@pytest.fixture(scope="module")
def copy_of_tree(tmp_path_factory) -> Path:
    tree = tmp_path_factory.mktemp("tree")
    shutil.copytree(ROOT / "marketplace", tree / "marketplace",
                    ignore=shutil.ignore_patterns("__pycache__", "translations"))
    shutil.copy(ROOT / ".importlinter", tree / ".importlinter")
    return tree


def test_the_import_contract_is_kept():
    result = run_contract(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


@pytest.mark.parametrize(("lower", "upper"), [
    ("marketplace/markets/services.py", "marketplace.orders.models"),
    ("marketplace/producers/queries.py", "marketplace.trust.models"),
    ("marketplace/core/money.py", "marketplace.accounts.models"),
    ("marketplace/web/templating.py", "marketplace.media.services"),
    ("marketplace/payments/services.py", "marketplace.pickup.services"),
])
def test_an_upward_import_breaks_the_contract(copy_of_tree, lower, upper):
    module = copy_of_tree / lower
    original = module.read_text()
    module.write_text(original + f"\nimport {upper}  # an upward import\n")
    try:
        result = run_contract(copy_of_tree)
    finally:
        module.write_text(original)
    assert result.returncode != 0
    assert upper in result.stdout


def _function_imports(path: Path) -> list[tuple[int, str]]:
    source = path.read_text()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    found.append((inner.lineno, source.splitlines()[inner.lineno - 1]))
    return found


def test_imports_inside_functions_are_few_and_each_says_why():
    found = []
    for path in sorted((ROOT / "marketplace").rglob("*.py")):
        lines = path.read_text().splitlines()
        for lineno, line in _function_imports(path):
            explained = "#" in line or lines[lineno - 2].strip().startswith("#")
            found.append((str(path.relative_to(ROOT)), lineno, explained))
    assert len(found) <= MAX_FUNCTION_IMPORTS, found
    assert all(explained for *_, explained in found), [f for f in found if not f[2]]


def test_no_module_is_imported_by_its_name_as_a_string():
    """importlib and __import__ would hide an upward import from the contract."""
    hidden = [str(path.relative_to(ROOT)) for path in (ROOT / "marketplace").rglob("*.py")
              if "importlib" in path.read_text() or "__import__(" in path.read_text()]
    assert hidden == []


IMPORT_EVERYTHING_WIRES_NOTHING = r"""
import importlib, pkgutil
import blinker
from sqlalchemy.orm import SessionEvents
import marketplace
from marketplace.core.extensions import db

modules = [importlib.import_module(info.name)
           for info in pkgutil.walk_packages(marketplace.__path__, "marketplace.")]
wired = []
session = db.session.session_factory.class_(db)  # a subclass of Session: its listeners and Session's
for name in dir(SessionEvents):
    if not name.startswith("_") and len(getattr(session.dispatch, name, ())):
        wired.append(f"Session.{name}")
for module in modules:
    for name, value in vars(module).items():
        if isinstance(value, blinker.Signal) and value.receivers:
            wired.append(f"{module.__name__}.{name}")
print(len(modules), "modules;", "wired at import:", wired)
raise SystemExit(1 if wired else 0)
"""


def test_importing_every_module_connects_no_receiver():
    """One way of wiring: receivers and session listeners are connected by register(app), never
    because a module happened to be imported."""
    result = subprocess.run([sys.executable, "-c", IMPORT_EVERYTHING_WIRES_NOTHING], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr

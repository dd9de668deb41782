"""The project's modules import without cycles: each services module on its own in a fresh
interpreter, and no module of the product imports another that (through others) imports it back,
nor hides such a cycle in an import inside a function; `common` imports no app."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
PACKAGES = ("common", "project", "users", "pubsub", "scheduler", "ops_admin")
# modules a fresh interpreter imports first thing after django.setup()
ENTRY_PACKAGES = ("users/services",)


def product_modules() -> dict[str, Path]:
    """Dotted name -> file of every module of the product (not its tests, nor its migrations)."""
    modules = {}
    for path in BASE_DIR.glob("*/**/*.py"):
        parts = path.relative_to(BASE_DIR).with_suffix("").parts
        if parts[0] not in PACKAGES or "tests" in parts or "migrations" in parts:
            continue
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imported_modules(node: ast.AST, modules: dict[str, Path]) -> set[str]:
    """The product modules an import statement names (a `from package import module` names the module)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in modules}
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return {
            f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module
            for alias in node.names
            if node.module in modules or f"{node.module}.{alias.name}" in modules
        }
    return set()


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Each module's module-level imports of product modules."""
    return {
        name: {imported for node in ast.parse(path.read_text()).body for imported in imported_modules(node, modules)}
        for name, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(name):
        state[name] = "open"
        stack.append(name)
        for imported in sorted(graph.get(name, ())):
            if state.get(imported) == "open":
                found.append([*stack[stack.index(imported) :], imported])
            elif imported not in state:
                visit(imported)
        stack.pop()
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name)
    return found


def test_no_module_of_the_product_imports_itself_back_through_others():
    assert cycles(import_graph(product_modules())) == []


def test_common_imports_no_app_so_that_every_app_may_import_it():
    graph = import_graph(product_modules())
    apps = {
        f"{name}: {imported}"
        for name, imports in graph.items()
        if name.startswith("common")
        for imported in imports
        if not imported.startswith("common")
    }
    assert apps == set()


def test_no_services_module_imports_inside_a_function():
    modules = product_modules()
    inside = [
        f"{name}: {ast.unparse(statement)}"
        for name, path in modules.items()
        if name.startswith("users.services")
        for function in ast.walk(ast.parse(path.read_text()))
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for statement in ast.walk(function)
        if isinstance(statement, ast.Import | ast.ImportFrom)
    ]
    assert inside == []


def test_product_modules_import_each_other_at_module_level_only():
    """Except in an AppConfig's ready(), where Django wants an app's signal and check modules
    imported: an import inside a function is how a cycle hides."""
    modules = product_modules()
    inside = [
        f"{name}.{function.name}: {ast.unparse(statement)}"
        for name, path in modules.items()
        for function in ast.walk(ast.parse(path.read_text()))
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) and function.name != "ready"
        for statement in ast.walk(function)
        if imported_modules(statement, modules)
    ]
    assert inside == []


ENTRY_MODULES = sorted(
    name for name in product_modules() if any(name.startswith(package.replace("/", ".")) for package in ENTRY_PACKAGES)
)


@pytest.mark.parametrize("module", ENTRY_MODULES)
def test_module_imports_first_in_a_fresh_interpreter(module):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.test_settings"}
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); import {module}"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr

"""The unit suite needs only the action's own dependencies (requirements/action.lock) and pytest.

Collecting `tests/unit` imports its modules, the conftest files above them and every module
those import at module level; each of those imports must be the standard library, the action,
the tests' own modules or a package of requirements/action.lock (or pytest). A unit test that
needs a development-only package imports it inside the test and carries `dev_only`.

This check reads the source; `scripts/test.sh` also runs `tests/unit` in a venv that holds only
requirements/action.lock and pytest, which proves the suite passes there, not only collects.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "tests" / "unit"
FIRST_PARTY = {"acr_action", "bench", "localazure", "tests"}
# pytest and what it installs with it (requirements/dev.lock: "via pytest").
PYTEST = {"pytest", "pluggy", "iniconfig", "packaging", "pygments"}


def normalized(distribution: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def locked_distributions(lock: Path) -> set[str]:
    """The distributions a pip-compile lock pins (`name==version` lines)."""
    pinned = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", lock.read_text(encoding="utf-8"), re.M)
    return {normalized(name) for name in pinned}


ALLOWED = locked_distributions(ROOT / "requirements" / "action.lock") | PYTEST


@functools.cache
def provided_by(module: str) -> set[str]:
    """The installed distributions that provide `module` (for a namespace package such as
    `azure`, those holding its deepest folder: `azure.mgmt.containerinstance` is one's)."""
    parts = module.split(".")
    dists = set(metadata.packages_distributions().get(parts[0], []))
    for depth in range(len(parts), 1, -1):
        if len(dists) <= 1:
            break
        folder = "/".join(parts[:depth])
        holding = {
            dist
            for dist in dists
            if any(
                str(file).startswith((folder + "/", folder + ".py"))
                for file in metadata.distribution(dist).files or []
            )
        }
        if holding:
            dists = holding
    return {normalized(dist) for dist in dists}


def allowed(module: str) -> bool:
    """Whether importing `module` works with only the action's dependencies and pytest."""
    top_level = module.split(".")[0]
    if top_level in sys.stdlib_module_names or top_level in FIRST_PARTY:
        return True
    return bool(provided_by(module)) and provided_by(module) <= ALLOWED


def is_type_checking(node: ast.stmt) -> bool:
    """`if TYPE_CHECKING:`: imports there never run."""
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def absolute(node: ast.ImportFrom, package: str) -> str:
    """The module a `from ... import` names, relative imports resolved against `package`."""
    if node.level == 0:
        return node.module or ""
    base = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def module_level_imports(tree: ast.Module, package: str = "") -> list[tuple[int, str]]:
    """(line, module) of each import that runs when the module is imported."""
    found: list[tuple[int, str]] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = absolute(node, package)
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.If | ast.Try | ast.With) and not is_type_checking(node):
            for field in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(node, field, []):
                    pending += child.body if isinstance(child, ast.ExceptHandler) else [child]
    return found


def marked(function: ast.FunctionDef | ast.AsyncFunctionDef, *names: str) -> bool:
    """Whether a decorator of `function` is one of `names` (e.g. `pytest.mark.dev_only`)."""
    decorators = [ast.unparse(d).split("(")[0] for d in function.decorator_list]
    return any(decorator in names for decorator in decorators)


def unmarked_function_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, module) of imports inside test functions that do not carry `dev_only`.

    A fixture may import a development tool: the tests that use it carry the mark (and the run
    in scripts/test.sh fails for any that does not).
    """
    found: list[tuple[int, str]] = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if marked(function, "pytest.mark.dev_only", "pytest.fixture"):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import):
                found += [(node.lineno, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.append((node.lineno, node.module))
    return found


def source_of(module: str) -> Path | None:
    """The file of a first-party module (a package's __init__.py), or None when there is none."""
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def package_of(path: Path) -> str:
    """The dotted package a file belongs to (`acr_action` for acr_action/errors.py)."""
    return ".".join(path.relative_to(ROOT).parent.parts)


def loaded_by_collection() -> list[Path]:
    """The unit suite's files, the conftest files above them, and the first-party modules they
    import at module level, transitively (with their parent packages)."""
    start = [
        *sorted(UNIT.glob("*.py")),
        ROOT / "tests" / "conftest.py",
        ROOT / "tests" / "__init__.py",
    ]
    seen: list[Path] = []
    pending = list(start)
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.append(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for _, module in module_level_imports(tree, package_of(path)):
            parts = module.split(".")
            if parts[0] not in FIRST_PARTY:
                continue
            for depth in range(1, len(parts) + 1):
                found = source_of(".".join(parts[:depth]))
                if found is not None and found not in seen:
                    pending.append(found)
    return seen


def needs_dev_package(path: Path, imports: list[tuple[int, str]]) -> list[str]:
    """`file:line module` for each import in `imports` that the action's dependencies lack."""
    where = path.relative_to(ROOT).as_posix()
    missing = {(line, module.split(".")[0]) for line, module in imports if not allowed(module)}
    return [f"{where}:{line} imports {top_level}" for line, top_level in sorted(missing)]


def test_the_lock_and_the_installed_packages_are_readable() -> None:
    # The check below means nothing if it cannot tell a locked package from another.
    assert {"azure-core", "requests", "docker"} <= ALLOWED
    for module in ("azure.core", "azure.mgmt.containerinstance", "requests", "pytest", "json"):
        assert allowed(module), module
    # PyYAML is a dependency of the action since `spec-file` (specfile.py); aiohttp is not.
    assert allowed("yaml")
    assert not allowed("aiohttp"), "aiohttp (the local Azure's server) is not in action.lock"


def test_collecting_the_unit_suite_needs_only_the_action_dependencies() -> None:
    loaded = loaded_by_collection()
    assert ROOT / "tests" / "conftest.py" in loaded
    assert ROOT / "acr_action" / "errors.py" in loaded  # reached through relative imports too
    problems = [
        problem
        for path in loaded
        for problem in needs_dev_package(
            path,
            module_level_imports(ast.parse(path.read_text(encoding="utf-8")), package_of(path)),
        )
    ]
    assert not problems, (
        "collecting tests/unit would need a package outside requirements/action.lock; import it "
        "inside the fixture or test that needs it (mark the test dev_only), or move the test to "
        "the suite it belongs to:\n" + "\n".join(problems)
    )


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in sorted(UNIT.glob("*.py"))])
def test_unit_tests_needing_a_dev_package_are_marked(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    problems = needs_dev_package(path, unmarked_function_imports(tree))
    assert not problems, (
        "a unit test imports a development-only package without @pytest.mark.dev_only:\n"
        + "\n".join(problems)
    )

"""The package's shape: stages import only downwards, no circles, no private names across modules,
and ARCHITECTURE.md names every module.

The imports are read with ``ast`` (nothing is imported), including those inside functions; only
``if TYPE_CHECKING:`` blocks are left out, since they never run.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "symbackprop"

# The pipeline, lowest first. A module may import its own stage or a lower one, never a higher one.
STAGES = {
    "version": 0, "algebra": 0,
    "network": 1,
    "derivation": 2,
    "proof": 3,
    "handout": 4,
    "numbers": 5,
    "checking": 6,
    "api": 7, "gallery": 7, "__init__": 7,
    "cli": 8, "__main__": 8,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def stage(module: str) -> int:
    parts = module.split(".")
    return STAGES[parts[1] if len(parts) > 1 else "__init__"]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_nodes(tree: ast.AST):
    """Every node except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def imports(module: str) -> list[tuple[str, list[str], int]]:
    """(imported symbackprop module, names taken from it, line) for each import in ``module``."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("symbackprop"):
                continue
            names = [a.name for a in node.names]
            for name in names:  # `from . import numeric` imports a module
                if f"{target}.{name}" in MODULES:
                    found.append((f"{target}.{name}", [], node.lineno))
            found.append((target, [n for n in names if f"{target}.{n}" not in MODULES], node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("symbackprop"):
                    found.append((alias.name, [], node.lineno))
    return found


def test_every_module_is_known():
    assert MODULES and all(m == "symbackprop" or m.split(".")[1] in STAGES for m in MODULES), sorted(MODULES)
    assert all(m in MODULES for m, _, _ in (i for module in MODULES for i in imports(module))), "import of a missing module"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_upward_import(module):
    upward = [f"line {line}: {target}" for target, _, line in imports(module) if stage(target) > stage(module)]
    assert not upward, f"{module} (stage {stage(module)}) imports a higher stage: {upward}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_across_modules(module):
    private = [f"line {line}: {target}.{name}" for target, names, line in imports(module)
               for name in names if name.startswith("_") and name != "__version__" and target != module]
    assert not private, f"{module} imports private names of other modules: {private}"


def test_no_import_circle():
    graph = {m: {t for t, _, _ in imports(m) if t != m and t in MODULES} for m in MODULES}
    # the package's own __init__ runs before any of its modules anyway: importing from it is no edge back
    graph = {m: {t for t in targets if t != "symbackprop"} for m, targets in graph.items()}
    colour: dict[str, int] = {}
    circles = []

    def visit(node: str, trail: list[str]) -> None:
        colour[node] = 1
        for target in sorted(graph[node]):
            if colour.get(target) == 1:
                circles.append(trail[trail.index(target):] + [target] if target in trail else [node, target])
            elif target not in colour:
                visit(target, trail + [target])
        colour[node] = 2

    for module in sorted(graph):
        if module not in colour:
            visit(module, [module])
    assert not circles, f"import circles: {circles}"


def test_no_grab_bag_module_names():
    assert not [m for m in MODULES if re.search(r"(^|\.)(tools?|utils?|helpers?|misc|common)$", m)]


def test_architecture_md_names_every_module():
    text = (ROOT / "ARCHITECTURE.md").read_text()
    listed = set(re.findall(r"`(symbackprop(?:/[\w]+)*(?:/[\w]+\.py|/))`", text))
    missing = []
    for module, path in MODULES.items():
        relative = path.relative_to(ROOT).as_posix()
        shown = relative if path.name != "__init__.py" else relative.rpartition("/")[0] + "/"
        if shown not in listed:
            missing.append(shown)
    assert not missing, f"ARCHITECTURE.md does not describe: {missing}"
    stale = [entry for entry in listed
             if not (ROOT / entry).exists()]
    assert not stale, f"ARCHITECTURE.md names modules that do not exist: {stale}"


def test_readme_layout_points_to_architecture():
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout"):]
    layout = layout[: layout.find("\n## ", 4) if "\n## " in layout[4:] else len(layout)]
    assert "ARCHITECTURE.md" in layout


def test_no_issue_numbers_in_the_product():
    hits = [f"{p.relative_to(ROOT)}:{n}" for p in list(PACKAGE.rglob("*.py")) + sorted((ROOT / "templates").glob("*.j2"))
            for n, line in enumerate(p.read_text().splitlines(), 1) if re.search(r"\bissues? #?\d", line, re.I)]
    assert not hits, hits


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"```sh\n(pip install -e \"\.\[test\]\"[^\n]*)\n```", readme).group(1)
    assert command in (ROOT / ".ci" / "run").read_text().splitlines()

"""The layering of docs/architecture.md holds in the imports, and no upper layer switches on kinds."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "simulator"

#: Module (dotted, relative to ``simulator``) prefix -> layer, as docs/architecture.md states it.
LAYERS = [
    ("errors", 0), ("estimate", 0), ("_jit", 0), ("figures", 0), ("files", 0),
    ("config.fields", 0), ("config.schema", 0), ("config.toml", 0), ("config.digest", 0), ("config", 0),
    ("stats", 1), ("design", 1), ("priors", 1), ("engine", 1),
    ("endpoints", 2),
    ("config.validate", 3), ("config.load", 3),
    ("runner", 4),
    ("report", 5),
    ("results", 6), ("api", 6),
    ("cli", 7), ("__main__", 7), ("", 6),  # simulator/__init__.py re-exports the API
]


def layer_of(module: str) -> int:
    best = None
    for prefix, layer in LAYERS:
        if module == prefix or module.startswith(prefix + ".") or prefix == "":
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, layer)
    assert best is not None, module
    return best[1]


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports_of(path: Path) -> list[str]:
    """Every ``simulator.*`` module imported anywhere in the file (function-level imports included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("simulator"):
            base = node.module[len("simulator"):].lstrip(".")
            for alias in node.names:
                candidate = f"{base}.{alias.name}".lstrip(".")
                found.append(candidate if candidate in modules() else base)
        elif isinstance(node, ast.Import):
            found += [a.name[len("simulator"):].lstrip(".") for a in node.names if a.name.startswith("simulator")]
    return found


def test_no_import_goes_up_a_layer():
    violations = []
    for module, path in modules().items():
        for imported in imports_of(path):
            if imported == "" and module != "":
                # `from simulator import __version__`: allowed, __version__ is defined before the API imports.
                continue
            if layer_of(imported) > layer_of(module):
                violations.append(f"{module} (layer {layer_of(module)}) imports {imported} (layer {layer_of(imported)})")
    assert violations == []
    assert len(modules()) > 40  # the walk found the package


def test_no_import_cycles():
    graph = {m: {i for i in imports_of(p) if i in modules() and i != m and i != ""} for m, p in modules().items()}
    # Packages import their submodules; a submodule importing a sibling through the package is not a cycle.
    state: dict[str, int] = {}
    cycles = []

    def visit(node, stack):
        state[node] = 1
        for child in graph[node]:
            if state.get(child) == 1 and not (node.startswith(child + ".") or child.startswith(node + ".")):
                cycles.append(stack + [child])
            elif child not in state:
                visit(child, stack + [child])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_runner_report_api_and_cli_do_not_switch_on_kinds():
    # Kind strings in code (not docstrings or comments) of the layers above the endpoint kinds.
    pattern = re.compile(r"""["'](binary|survival)["']""")
    offenders = []
    for module, path in modules().items():
        if layer_of(module) < 3:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
            and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                if pattern.fullmatch(repr(node.value)):
                    offenders.append(f"{module}:{node.lineno}: {node.value!r}")
    assert offenders == []

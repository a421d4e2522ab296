"""Dependencies point one way: app/resolvers/schema -> services -> storage (DESIGN.md §2)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TRANSPORT = ("strawberry", "starlette", "uvicorn", "graphql", "schema", "resolvers", "app")
FORBIDDEN = {
    "services": (*TRANSPORT, "dataloaders", "workers"),
    "storage": (*TRANSPORT, "services", "dataloaders", "workers"),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_lower_layers_do_not_import_upper_ones(layer: str) -> None:
    offenders = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        for module in imported_modules(path):
            if module.split(".")[0] in FORBIDDEN[layer]:
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []

"""The data flows one way (DESIGN §1-2): no part imports the wiring, and config is a leaf.

Read from the source with `ast`, so a lazy import inside a function counts as much as one at
the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# part folder -> the wslwatch parts it must never import
FORBIDDEN = {
    "collectors": {"daemon", "exporters", "tray"},
    "exporters": {"daemon", "tray"},
    "tray": {"daemon"},
    "reclaim": {"daemon", "exporters", "tray"},
    "config": {"daemon", "collectors", "exporters", "tray", "reclaim"},
    "wslwatch": {"daemon", "collectors", "exporters", "tray", "config", "reclaim"},
}


def _imported_parts(source: Path) -> set[str]:
    """The `wslwatch.<part>` names that one module imports."""
    parts: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            pieces = name.split(".")
            if pieces[0] == "wslwatch" and len(pieces) > 1:
                parts.add(pieces[1])
    return parts


@pytest.mark.parametrize("part", sorted(FORBIDDEN))
def test_a_part_imports_no_part_above_it(part: str) -> None:
    offenders = {
        str(module.relative_to(ROOT)): sorted(_imported_parts(module) & FORBIDDEN[part])
        for module in (ROOT / part).rglob("*.py")
        if module.name != "__main__.py"  # `python -m wslwatch` is the CLI's entry, i.e. wiring
    }
    assert {module: parts for module, parts in offenders.items() if parts} == {}


def test_the_check_sees_an_import_of_the_wiring(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from wslwatch.daemon.app import App\n    import wslwatch.tray.icon\n")
    assert _imported_parts(module) == {"daemon", "tray"}

"""SECURITY.md cites a test for each claim: every cited test must exist, so a renamed test cannot orphan a claim."""

from __future__ import annotations

import ast
import re

from tests.conftest import REPO_ROOT

CITATION = re.compile(r"(?:`(tests/[\w/]+\.py))?::(test_\w+)")


def _cited() -> list[tuple[str, str]]:
    """(file, test) pairs; ``::test_x`` right after a full citation in the same cell reuses that file."""
    pairs: list[tuple[str, str]] = []
    for line in (REPO_ROOT / "SECURITY.md").read_text(encoding="utf-8").splitlines():
        for cell in line.split("|"):
            current = None
            for path, name in CITATION.findall(cell):
                current = path or current
                assert current, f"citation ::{name} has no file in: {cell.strip()}"
                pairs.append((current, name))
    return pairs


def _tests_in(path: str) -> set[str]:
    tree = ast.parse((REPO_ROOT / path).read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_every_test_cited_by_security_md_exists() -> None:
    # GIVEN every file::test citation in SECURITY.md
    cited = _cited()
    assert len(cited) >= 40
    # THEN each names an existing file that defines that test
    missing = [f"{path}::{name}" for path, name in cited
               if not (REPO_ROOT / path).is_file() or name not in _tests_in(path)]
    assert missing == []

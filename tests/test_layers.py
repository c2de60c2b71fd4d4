"""The floors of DESIGN.md hold: `lint-imports` keeps them, and breaks on an upward import."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = [
    "config", "core", "crm", "interactions", "followups", "reporting", "privacy", "spreadsheets",
]  # fmt: skip
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "templates", "static", "migrations"),
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_its_floors(tree_copy: Path) -> None:
    result = _lint_imports(tree_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "upward_import"),
    [
        ("crm/models.py", "import followups.models"),
        ("core/errors.py", "from crm import access"),
        ("followups/services.py", "from reporting import metrics_selectors"),
        ("reporting/board_selectors.py", "from privacy import services"),
        ("interactions/models.py", "from config import health"),
        ("spreadsheets/services.py", "from followups import services"),
    ],
)
def test_an_upward_import_breaks_the_contract(tree_copy: Path, module: str, upward_import: str):
    with open(tree_copy / module, "a") as source:
        source.write(f"\n{upward_import}  # noqa\n")
    result = _lint_imports(tree_copy)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout.upper()

"""How pytest-xdist hands the suite out: modules with shared set-up stay whole."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import SHARED_SETUP_MODULES, work_unit

ROOT = Path(__file__).parent.parent

#: What makes a module's set-up shared: a fixture of wider scope than a test, or
#: the moto server (a module fixture defined in conftest.py).
SHARED = re.compile(r'scope="(module|session|package)"|\bmoto_(url|sqs)\b')


def test_every_listed_module_exists():
    """A renamed module would silently fall back to one worker per test."""
    missing = [path for path in SHARED_SETUP_MODULES if not (ROOT / path).is_file()]
    assert missing == []


def test_every_module_with_shared_set_up_is_listed():
    """A new module with a module fixture must join the list, or it runs twice."""
    found = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "tests").rglob("test_*.py")
        if "airflow_integration" not in path.parts and SHARED.search(path.read_text())
    }
    assert found - SHARED_SETUP_MODULES == set()


def test_listed_modules_are_one_unit_and_the_rest_one_test_each():
    """A listed module is one unit, parameters and all; any other test is its own."""
    docs = ["tests/test_docs.py::test_run[README.md:15]", "tests/test_docs.py::test_x"]
    assert {work_unit(nodeid) for nodeid in docs} == {"tests/test_docs.py"}
    other = ["tests/test_watch.py::test_a", "tests/test_watch.py::test_b[x::y]"]
    assert [work_unit(nodeid) for nodeid in other] == other

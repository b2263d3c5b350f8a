"""Tests for the package's public surface and the wheel's metadata."""

from __future__ import annotations

import ast
import email.parser
import importlib
import importlib.metadata
import importlib.resources
import inspect
import pkgutil
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import sagemaker_watch
import sagemaker_watch.testing

ROOT = Path(__file__).parent.parent
REPOSITORY = "https://github.com/sagemaker-watch/sagemaker-watch"

#: Names defined in private modules that are deliberately not public.
INTERNAL = {
    "_core.planner": {
        "Budget",
        "DueQueue",
        "JobTiming",
        "ListFailure",
        "PageVerdict",
        "Seen",
        "ServiceClock",
        "Summary",
        "Sweep",
        "covers",
        "due_at",
        "lag_delay",
        "list_failed",
        "mark_page",
        "max_pages",
        "new_sweep",
        "next_due",
        "page_read",
        "percentile",
        "recheck_interval",
        "routine_due",
        "summary_due",
        "summary_key",
        "sweep_wait",
        "wants_listing",
        "wants_sweeps",
    },
    "_core.tracker": {
        "ErrorKind",
        "JobTracker",
        "RetryScheduled",
        "Step",
        "retry_delay",
        "retryable",
    },
    "_drivers._fleet_stats": {"Tallied", "staleness", "tally"},
    "_io.source": {
        "AioBotocoreSource",
        "CallFailed",
        "JobSummary",
        "ListPage",
        "ClientOptions",
        "DescribeSource",
        "ErrorKind",
        "SourceStatistics",
        "classify",
        "client_config",
        "default_client",
        "error_code",
    },
    "_io.retry": {"RetryDetails", "call_with_retries", "call_within"},
    "_io.ratelimit": {
        "AdaptiveRate",
        "BudgetStatistics",
        "OperationBudget",
        "Rate",
        "RateBudget",
        "TokenBucket",
    },
    "cli._commands": {
        "CliError",
        "ExitCode",
        "Number",
        "Settings",
        "aws_client",
        "exit_code",
        "follow",
        "follow_one",
        "main",
        "run",
    },
    "cli._render": {
        "JobResult",
        "JsonRenderer",
        "LineRenderer",
        "LiveRenderer",
        "NullRenderer",
        "Outcome",
        "Renderer",
        "describe",
        "duration",
        "event_detail",
        "event_line",
        "one_line",
        "outcome_of",
        "quote",
        "safe",
        "safe_cell",
        "spot_savings",
        "status",
        "times",
    },
    "cli._demo": {"is_loopback", "populate", "serve"},
    "cli._scenario": {"ScenarioError", "ScenarioJob", "demo_fleet", "job", "load"},
}


def _isort_key(name):
    """RUF022's order: CONSTANTS, then Classes, then functions, each A-Z."""
    if name.isupper() or (name.upper() == name and "_" in name):
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def _defined_public_names(module):
    """Public classes and functions defined in (not imported by) *module*."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == module.__name__
    }


def test_all_is_sorted():
    """__all__ is sorted the way ruff's RUF022 sorts it."""
    assert sorted(sagemaker_watch.__all__, key=_isort_key) == sagemaker_watch.__all__
    testing_all = sagemaker_watch.testing.__all__
    assert sorted(testing_all, key=_isort_key) == testing_all


def test_all_is_not_stale():
    """Every name in __all__ exists, with no duplicates."""
    for package in (sagemaker_watch, sagemaker_watch.testing):
        assert len(set(package.__all__)) == len(package.__all__)
        assert [n for n in package.__all__ if not hasattr(package, n)] == []


def test_all_is_complete():
    """Every public name defined in a private module is exported or known internal."""
    missing = {}
    for info in pkgutil.walk_packages(
        sagemaker_watch.__path__, prefix="sagemaker_watch."
    ):
        name = info.name.removeprefix("sagemaker_watch.")
        if info.ispkg or name.startswith("testing") or name.endswith("__main__"):
            continue
        if not any(part.startswith("_") for part in name.split(".")):
            continue
        module = importlib.import_module(info.name)
        public = _defined_public_names(module)
        unexported = public - set(sagemaker_watch.__all__) - INTERNAL.get(name, set())
        if unexported:
            missing[name] = sorted(unexported)
    assert {} == missing


def test_internal_list_is_not_stale():
    """Each name listed as internal still exists where it is said to."""
    for module_name, names in INTERNAL.items():
        module = importlib.import_module(f"sagemaker_watch.{module_name}")
        assert [n for n in sorted(names) if not hasattr(module, n)] == []


def test_version_comes_from_the_distribution():
    """__version__ is the installed distribution's version."""
    assert importlib.metadata.version("sagemaker-watch") == sagemaker_watch.__version__


def test_ships_the_typing_marker():
    """py.typed is in the package, so type checkers read our annotations."""
    assert (importlib.resources.files("sagemaker_watch") / "py.typed").is_file()


def test_console_script_is_declared():
    """The sagemaker-watch console script points at the CLI's run()."""
    scripts = importlib.metadata.entry_points(group="console_scripts")
    (script,) = [s for s in scripts if s.name == "sagemaker-watch"]
    assert "sagemaker_watch.cli:run" == script.value


@pytest.fixture(name="wheel", scope="module")
def _wheel(tmp_path_factory):
    """The wheel hatchling builds from this checkout, as users get it."""
    from hatchling.builders.wheel import WheelBuilder  # noqa: PLC0415 - tests only

    out = tmp_path_factory.mktemp("wheel")
    (path,) = WheelBuilder(str(ROOT)).build(directory=str(out), versions=["standard"])
    return zipfile.ZipFile(path)


@pytest.fixture(name="metadata", scope="module")
def _metadata(wheel):
    """The wheel's METADATA, parsed as the email headers it is."""
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return email.parser.HeaderParser().parsestr(wheel.read(name).decode())


def test_wheel_carries_the_license(wheel, metadata):
    """The wheel declares MIT and ships the LICENSE file it names."""
    assert ("MIT", ["LICENSE"]) == (
        metadata["License-Expression"],
        metadata.get_all("License-File"),
    )
    (license_path,) = [n for n in wheel.namelist() if n.endswith("/licenses/LICENSE")]
    assert wheel.read(license_path).decode().startswith("MIT License")


def test_wheel_links_the_project(metadata):
    """``pip show`` lists the home page, documentation, changelog and issues."""
    assert [
        f"Homepage, {REPOSITORY}",
        f"Documentation, {REPOSITORY}#readme",
        f"Changelog, {REPOSITORY}/blob/main/CHANGELOG.md",
        f"Issues, {REPOSITORY}/issues",
    ] == metadata.get_all("Project-URL")


def _extras(metadata):
    """Map each extra of *metadata* to the distributions it adds."""
    extras = {}
    for line in metadata.get_all("Requires-Dist"):
        requirement = Requirement(line)
        for extra in metadata.get_all("Provides-Extra"):
            if requirement.marker and requirement.marker.evaluate({"extra": extra}):
                name = canonicalize_name(requirement.name)
                extras.setdefault(extra, set()).add(name)
    return extras


def test_wheel_offers_the_boto3_and_testing_extras(metadata):
    """The extras are boto3 (boto3 beside our aiobotocore) and testing (the plugin)."""
    expected = {"boto3": {"boto3"}, "testing": {"pytest", "pytest-asyncio"}}
    assert expected == _extras(metadata)


def test_testing_extra_covers_the_pytest_plugin(metadata):
    """Every third-party module the pytest plugin imports comes with [testing]."""
    plugin = ROOT / "src/sagemaker_watch/testing/pytest_plugin.py"
    imported = set()
    for node in ast.walk(ast.parse(plugin.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.partition(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"sagemaker_watch"}
    distributions = importlib.metadata.packages_distributions()
    needed = {canonicalize_name(d) for m in third_party for d in distributions[m]}
    assert {"pytest-asyncio"} <= needed
    assert set() == needed - _extras(metadata)["testing"]


def test_classifiers_claim_asyncio_only(metadata):
    """No AnyIO (trio) framework is claimed: aiobotocore runs on asyncio alone."""
    frameworks = [c for c in metadata.get_all("Classifier") if "Framework" in c]
    assert ["Framework :: AsyncIO"] == frameworks

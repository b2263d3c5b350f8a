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

#: The public surface, by what a user does with it.
EXPECTED_ALL = {
    # The ways in, for one job.
    "watch",
    "Watch",
    "wait_until_terminal",
    "wait_until_complete",
    "wait_for_status",
    # Many jobs.
    "FleetWatcher",
    "FleetStatistics",
    # Push hints (EventBridge through SQS).
    "SqsHints",
    "HintStatistics",
    # Training logs (CloudWatch Logs).
    "logs",
    "Logs",
    "CloudWatchLogs",
    "LogLine",
    "LogReaderStatistics",
    "FleetLogStatistics",
    # Settings, time and the client.
    "PollSchedule",
    "RetryPolicy",
    "Clock",
    "sagemaker_client",
    # What users receive.
    "Snapshot",
    "Transition",
    "Metric",
    "Progress",
    "PrimaryStatus",
    "SecondaryStatus",
    # Events.
    "Event",
    "JobObserved",
    "StatusEntered",
    "Interrupted",
    "StatusMessageChanged",
    "PrimaryStatusChanged",
    "ProgressChanged",
    "JobEnded",
    "JobCompleted",
    "JobFailed",
    "JobStopped",
    "JobLost",
    # Errors: the one tree.
    "SageMakerWatchError",
    "UsageError",
    "InvalidJobName",
    "InvalidResumeToken",
    "InvalidClient",
    "UnsupportedEventLoop",
    "MalformedResponse",
    "TrainingJobNotFound",
    "JobReplaced",
    "ServiceError",
    "ConfigurationError",
    "NoRegion",
    "ProfileNotFound",
    "InvalidEndpoint",
    "CredentialsError",
    "CredentialsRejected",
    "AccessDenied",
    "RetriesExhausted",
    "EndpointUnreachable",
    "NotSageMaker",
    "WaitTimeout",
    "JobRemoved",
    "TrainingJobEnded",
    "TrainingJobFailed",
    "TrainingJobStopped",
    "StatusNotReached",
    "__version__",
}

#: Names that left ``__all__``, with what the deprecation warning points to.
DEPRECATED = {
    "DiffResult": "watch()",
    "FleetEvent": "sagemaker_watch.Event",
    "INTERRUPTION_STATUSES": "Snapshot.interruptions",
    "JSON": "Event.to_json()",
    "JobIdentity": "Snapshot.identity",
    "PollState": "sagemaker_watch.PollSchedule",
    "ResumeCursor": "resume=",
    "SHORT_PHASES": "sagemaker_watch.PollSchedule",
    "SystemClock": "leave out clock=",
    "TERMINAL_STATUSES": "Snapshot.is_terminal",
    "diff": "watch()",
    "diff_with_anomalies": "watch()",
    "next_delay": "sagemaker_watch.PollSchedule",
    "raise_for_outcome": "Snapshot.raise_for_outcome()",
    "validate_job_name": "InvalidJobName",
}

#: Names defined in private modules that are deliberately not public.
INTERNAL = {
    "_core.planner": {
        "Budget",
        "DueQueue",
        "JobTiming",
        "Summary",
        "census_interval",
        "due_at",
        "is_routine",
        "lag_delay",
        "next_due",
        "recheck_interval",
        "recheck_phase",
        "routine_due",
        "summary_key",
    },
    "_core.sweeps": {
        "ListFailure",
        "PageVerdict",
        "Seen",
        "ServiceClock",
        "Sweep",
        "covers",
        "list_failed",
        "mark_page",
        "max_pages",
        "new_sweep",
        "page_read",
        "summary_due",
        "sweep_wait",
        "vouch_page",
        "vouches",
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
    "_drivers._fleet_stats": {"Tallied", "percentile", "staleness", "tally"},
    "_drivers._fleet_jobs": {"Job", "unreadable"},
    "_drivers._fleet_scheduler": {"Scheduler"},
    "_drivers._fleet_stream": {"Events", "Idle", "Stream"},
    "_drivers._fleet_waiters": {"Nap", "StatusWaiter", "Timeouts", "Waiters"},
    "_drivers._fleet_logs": {"FleetLogs"},
    "_drivers._fleet_sweeps": {"Sweeper"},
    "_drivers._hint_feed": {"HintFeed", "announced", "open_feed"},
    "_drivers._log_follow": {"LogFollower", "open_logs_client", "tell_follower"},
    "_drivers.shared_fleets": {"OpenedFleet", "SharedFleets"},
    "_drivers.waiters": {"raise_for_outcome"},
    "_core.cursor": {"ResumeCursor", "message_digest", "progress_digest"},
    "_core.diff": {"DiffResult", "diff", "diff_with_anomalies"},
    "_core.hints": {
        "CoalescerStatistics",
        "Hint",
        "HintCoalescer",
        "HintVerdict",
        "NotAHint",
        "NotAHintReason",
        "read_hint",
    },
    "_core.hint_mode": {"HintMode", "HintState"},
    "_core.log_reader": {"LogReader", "RawLogEvent", "StreamRead"},
    "_core.names": {"JobRef", "lookup_name", "parse_job", "validate_job_name"},
    "_core.parse_memo": {"Memo", "Parsed", "RowSpec", "Rows", "reuse"},
    "_core.schedule": {"PollState", "next_delay"},
    "_core.status": {"wanted_statuses"},
    "_core.snapshot": {"JobIdentity"},
    "_io.clock": {"SystemClock"},
    "_io.source": {
        "AioBotocoreSource",
        "CallFailed",
        "JobSummary",
        "ListPage",
        "SourceStatistics",
    },
    "_io.failures": {
        "call_errors",
        "check_content_type",
        "classify",
        "error_code",
        "give_up_error",
        "is_parser_failure",
    },
    "_io.retry": {"call_within"},
    "_io.client": {
        "ClientOptions",
        "client_config",
        "credentials_error",
        "default_client",
        "endpoint_origin",
        "one_line",
        "logs_client",
        "require_asyncio",
        "sqs_client",
    },
    "_io.sqs": {"SqsQueue", "SqsStatistics"},
    "_io.logs": {
        "EventsPage",
        "LogsFailure",
        "LogsFailureKind",
        "LogsSource",
        "LogsSourceStatistics",
        "StreamsPage",
    },
    "_io.ratelimit": {
        "AdaptiveRate",
        "BudgetStatistics",
        "OperationBudget",
        "Rate",
        "RateBudget",
        "TokenBucket",
    },
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


def test_all_is_the_intended_surface():
    """__all__ is exactly the surface a user needs: no internals, nothing missing."""
    assert EXPECTED_ALL == set(sagemaker_watch.__all__)


@pytest.mark.parametrize("name", sorted(DEPRECATED))
def test_a_removed_name_still_imports_with_one_warning_naming_the_replacement(name):
    """A name that left __all__ still works for a release, with a DeprecationWarning."""
    with pytest.warns(DeprecationWarning, match=name) as caught:
        value = getattr(sagemaker_watch, name)
    assert [DeprecationWarning] == [w.category for w in caught]
    message = str(caught[0].message)
    assert f"sagemaker_watch.{name} is deprecated" in message
    assert DEPRECATED[name] in message
    assert __file__ == caught[0].filename
    assert value is not None


def test_a_removed_name_is_the_object_it_always_was():
    """The deprecated names are the library's own objects, not copies."""
    from sagemaker_watch._core.diff import diff  # noqa: PLC0415 - what it aliases

    with pytest.warns(DeprecationWarning, match="FleetEvent"):
        assert sagemaker_watch.Event is sagemaker_watch.FleetEvent
    with pytest.warns(DeprecationWarning, match="diff"):
        assert diff is sagemaker_watch.diff


def test_from_import_of_a_removed_name_warns_at_the_import():
    """``from sagemaker_watch import next_delay`` works, warning at that line."""
    with pytest.warns(DeprecationWarning, match="next_delay") as caught:
        from sagemaker_watch import next_delay  # noqa: PLC0415 - the import is the test

    assert callable(next_delay)
    assert __file__ == caught[0].filename


def test_removed_names_are_not_listed():
    """dir() and __all__ name no deprecated alias; unknown names still fail."""
    assert set() == set(DEPRECATED) & set(dir(sagemaker_watch))
    assert set() == set(DEPRECATED) & set(sagemaker_watch.__all__)
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = sagemaker_watch.no_such_name


def test_all_is_complete():
    """Every public name defined in a private module is exported or known internal.

    The CLI is skipped: its surface is the command line, not Python names.
    """
    missing = {}
    for info in pkgutil.walk_packages(
        sagemaker_watch.__path__, prefix="sagemaker_watch."
    ):
        name = info.name.removeprefix("sagemaker_watch.")
        if info.ispkg or name.startswith(("testing", "cli.")):
            continue
        if name.endswith("__main__"):
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
    """Each name listed as internal is still defined where it is said to be."""
    stale = {}
    for module_name, names in INTERNAL.items():
        module = importlib.import_module(f"sagemaker_watch.{module_name}")
        if gone := sorted(names - _defined_public_names(module)):
            stale[module_name] = gone
    assert {} == stale


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
    """The extras: boto3 (beside our aiobotocore), testing (the plugin), airflow."""
    expected = {
        "boto3": {"boto3"},
        "testing": {"pytest", "pytest-asyncio"},
        "airflow": {"apache-airflow", "apache-airflow-providers-amazon"},
    }
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

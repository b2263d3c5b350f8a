"""Tests for the package's public surface: __all__, version, typing marker."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.resources
import inspect
import pkgutil

import sagemaker_watch
import sagemaker_watch.testing

#: Names defined in private modules that are deliberately not public.
INTERNAL = {
    "_source": {
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
    },
    "_retry": {"RetryDetails", "call_with_retries"},
    "_ratelimit": {
        "AdaptiveRate",
        "BudgetStatistics",
        "OperationBudget",
        "Rate",
        "RateBudget",
        "TokenBucket",
    },
    "_cli": {
        "CliError",
        "ExitCode",
        "Settings",
        "aws_client",
        "exit_code",
        "follow",
        "follow_one",
        "main",
        "run",
    },
    "_render": {
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
        "outcome_of",
        "quote",
        "spot_savings",
        "status",
        "times",
    },
    "_demo": {"is_loopback", "populate", "serve"},
    "_scenario": {"ScenarioError", "ScenarioJob", "demo_fleet", "job", "load"},
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
    for info in pkgutil.iter_modules(sagemaker_watch.__path__):
        if not info.name.startswith("_") or info.name == "__main__":
            continue
        module = importlib.import_module(f"sagemaker_watch.{info.name}")
        public = _defined_public_names(module)
        unexported = (
            public - set(sagemaker_watch.__all__) - INTERNAL.get(info.name, set())
        )
        if unexported:
            missing[info.name] = sorted(unexported)
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
    assert "sagemaker_watch._cli:run" == script.value

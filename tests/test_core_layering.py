"""The pure core imports no I/O, async, retry or logging library."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap

CORE = [
    "_core.status",
    "_core.snapshot",
    "_core.events",
    "_core.diff",
    "_core.schedule",
    "_core.names",
]
FORBIDDEN = [
    "aiobotocore",
    "aiohttp",
    "anyio",
    "boto3",
    "botocore",
    "click",
    "rich",
    "structlog",
    "tenacity",
]

# The package's __init__ imports everything, so it is not run: a bare package
# module pointing at the real source directory stands in for it, and the core
# modules are then imported from their real files with their real relative imports.
PROBE = textwrap.dedent(
    """
    import importlib, json, sys, types

    source, core = sys.argv[1], json.loads(sys.argv[2])
    package = types.ModuleType("sagemaker_watch")
    package.__path__ = [source]
    sys.modules["sagemaker_watch"] = package
    for name in core:
        importlib.import_module("sagemaker_watch." + name)
    files = {name: sys.modules["sagemaker_watch." + name].__file__ for name in core}
    print(json.dumps({"modules": sorted(sys.modules), "files": files}))
    """
)


def _probe():
    spec = importlib.util.find_spec("sagemaker_watch")
    assert spec is not None
    assert spec.submodule_search_locations is not None
    source = next(iter(spec.submodule_search_locations))
    completed = subprocess.run(
        [sys.executable, "-I", "-c", PROBE, source, json.dumps(CORE)],
        capture_output=True,
        text=True,
        check=True,
    )
    return source, json.loads(completed.stdout)


def test_core_imports_no_heavy_dependency():
    """Importing the core modules loads none of the forbidden libraries."""
    _, result = _probe()
    loaded = {name.partition(".")[0] for name in result["modules"]}
    assert [] == sorted(loaded & set(FORBIDDEN))


def test_core_uses_only_core_siblings():
    """The core imports only itself and _errors from the package."""
    source, result = _probe()
    ours = {name for name in result["modules"] if name.startswith("sagemaker_watch.")}
    allowed = {f"sagemaker_watch.{name}" for name in [*CORE, "_core", "_errors"]}
    assert set() == ours - allowed
    assert all(path.startswith(source) for path in result["files"].values())

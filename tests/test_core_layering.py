"""Layers point one way: a pure core, and only the source talks to AWS."""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

CORE = [
    "_core.status",
    "_core.snapshot",
    "_core.parse_memo",
    "_core.events",
    "_core.diff",
    "_core.cursor",
    "_core.schedule",
    "_core.names",
    "_core.planner",
    "_core.sweeps",
    "_core.tracker",
    "_core.hints",
    "_core.hint_mode",
    "_core.log_reader",
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

# The package's __init__ is not run (it brings the drivers in on first use): a
# bare package module pointing at the real source directory stands in for it, and
# the core modules are imported from their real files with their relative imports.
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


#: Who may import what, by the first component of the imported module's name.
AWS = {"aiobotocore", "botocore", "boto3", "aiohttp"}
#: The AWS boundary: the calls and their classification, and the client set-up.
#: The AWS boundary, and what each of its modules imports of it: the calls
#: (aiobotocore's client), what their failures mean (botocore's and aiohttp's
#: exception types, no client), and the client set-up.
AWS_MODULES = {
    "_io/source.py": {"aiobotocore"},
    "_io/failures.py": {"aiohttp", "botocore"},
    "_io/client.py": {"aiobotocore", "botocore"},
    "_io/sqs.py": set(),  # SQS's calls, through the client and failures above
    "_io/logs.py": set(),  # CloudWatch Logs' calls, likewise
}


def _imports(path):
    """Every absolute module a file imports (top level and inside functions)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.partition(".")[0])
    return found


def _library_files():
    package = Path(__file__).parent.parent / "src" / "sagemaker_watch"
    return {
        path.relative_to(package).as_posix(): path
        for path in package.rglob("*.py")
        if "testing" not in path.relative_to(package).parts
    }


def test_only_the_source_imports_aws_libraries():
    """botocore, aiobotocore and aiohttp are imported by the three AWS modules alone."""
    files = _library_files()
    offenders = {
        name: sorted(_imports(path) & AWS)
        for name, path in files.items()
        if name not in AWS_MODULES and _imports(path) & AWS
    }
    assert {} == offenders
    assert AWS_MODULES == {name: _imports(files[name]) & AWS for name in AWS_MODULES}


def test_the_core_folder_is_all_core():
    """Every module under _core/ is probed by the import test above."""
    on_disk = {
        "_core." + name.removeprefix("_core/").removesuffix(".py")
        for name in _library_files()
        if name.startswith("_core/") and not name.endswith("__init__.py")
    }
    assert on_disk == set(CORE)


#: Modules installed with an extra, and what the extra brings (pyproject.toml).
EXTRAS = {"integrations/airflow.py": {"airflow"}}


def test_the_extras_bring_what_their_modules_import():
    """Each integration's imports are what its extra installs: pyproject says so."""
    extras = tomllib.loads(
        (Path(__file__).parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    )["project"]["optional-dependencies"]
    assert any(d.startswith("apache-airflow>=3") for d in extras["airflow"])
    assert any(
        d.startswith("apache-airflow-providers-amazon") for d in extras["airflow"]
    )


def test_every_library_import_is_a_declared_dependency():
    """Each third-party module the library imports is installed with the library.

    Optional imports inside a function that only run under trio (sniffio to name
    it, trio itself in the kit's manual clock), typing-only stubs and the pytest
    plugin (the testing extra) are the known exceptions; anything else, such as a
    retry library no longer declared, fails here before a user's import does.
    """
    declared = {"aiobotocore", "botocore", "aiohttp", "anyio", "structlog"}
    declared |= {"click", "rich", "types_aiobotocore_sagemaker", "sniffio", "trio"}
    declared |= {"typing_extensions"}  # TYPE_CHECKING only: mypy bundles its stubs
    package = Path(__file__).parent.parent / "src" / "sagemaker_watch"
    undeclared = {}
    for path in package.rglob("*.py"):
        if path.name == "pytest_plugin.py":
            continue
        name = path.relative_to(package).as_posix()
        third_party = _imports(path) - set(sys.stdlib_module_names)
        extra = third_party - declared - {"sagemaker_watch", "__future__"}
        extra -= EXTRAS.get(name, set())
        if extra:
            undeclared[name] = sorted(extra)
    assert {} == undeclared

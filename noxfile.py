"""The one runner for people and CI: ``nox -s tests``, ``nox -s lint`` and friends."""

from __future__ import annotations

import pathlib

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_external_run = True
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "tests", "examples"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
HERE = pathlib.Path(__file__).parent
EXAMPLES = sorted((HERE / "examples").glob("*.py"))


def _install(session: nox.Session, *groups: str, extras: str = "") -> None:
    """Install the project, then *groups* with boto3 matched to its botocore.

    aiobotocore pins botocore to a few releases while boto3 (which moto needs) asks
    for its own; resolved together, pip walks back through dozens of boto3 releases.
    Installing the project first and pinning boto3 to the botocore it brought
    (boto3 and botocore share version numbers) resolves at once.
    """
    session.install("-e", f".{extras}")
    deps = [d for g in groups for d in nox.project.dependency_groups(PYPROJECT, g)]
    if deps:
        session.install(*deps, "--constraint", _boto3_constraints(session))


def _boto3_constraints(session: nox.Session) -> str:
    """Write a pip constraints file: boto3 at the installed botocore's version."""
    printed = session.run_install(  # runs under --install-only too
        "python", "-c", "import botocore; print(botocore.__version__)", silent=True
    )
    version = str(printed).strip()
    path = pathlib.Path(session.create_tmp()) / "boto3-constraints.txt"
    path.write_text(f"botocore=={version}\nboto3=={version}\n")
    return str(path)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite under coverage on the current interpreter.

    pytest-xdist hands the tests out one at a time to the machine's cores as
    each finishes (``--dist loadgroup``), except the modules listed in
    tests/conftest.py's ``SHARED_SETUP_MODULES`` (a module or session fixture:
    the docs' block runs, a moto server, the wheel), each handed to one worker
    whole. Coverage follows the workers through its subprocess patch.
    """
    _install(session, "tests")
    session.run("coverage", "erase")
    session.run(
        "coverage",
        "run",
        "-m",
        "pytest",
        "--numprocesses=auto",
        "--dist=loadgroup",
        "--durations=10",
        *session.posargs,
    )
    session.run("coverage", "combine", "--quiet")
    session.run("coverage", "report", f"--omit={AIRFLOW_MODULE}")


#: The module that needs Airflow: measured by the ``airflow`` session.
AIRFLOW_MODULE = "*/sagemaker_watch/integrations/airflow.py"


@nox.session
def airflow(session: nox.Session) -> None:
    """The Airflow integration's tests, in real Airflow 3 (SQLite, ``dag.test()``).

    Installs ``sagemaker-watch[airflow]`` (Airflow and the amazon provider, about
    a minute) and runs tests/airflow_integration and the shared fleets' tests
    under coverage. Part of the README's test command, with ``tests``.
    """
    session.install("-e", ".[airflow]")
    session.install(
        "pytest>=8.2", "pytest-asyncio>=0.24", "coverage[toml]>=7.10", "hypothesis"
    )
    session.run("python", "-m", "pip", "check")
    session.run("coverage", "erase")
    session.run(
        "coverage",
        "run",
        "-m",
        "pytest",
        "--durations=5",
        "tests/airflow_integration",
        "tests/test_shared_fleets.py",
        *session.posargs,
    )
    session.run("coverage", "combine", "--quiet")
    session.run(
        "coverage",
        "report",
        f"--include={AIRFLOW_MODULE},*/sagemaker_watch/_drivers/shared_fleets.py",
    )


@nox.session(reuse_venv=False)
@nox.parametrize("sdk", ["sagemaker>=2.257,<3", "sagemaker>=3.27,<4"], ids=["2", "3"])
def compat_install(session: nox.Session, sdk: str) -> None:
    """Install sagemaker-watch[boto3] beside the SageMaker Python SDK; pip check.

    A fresh virtualenv each time, the install route of docs/compatibility.md. Not
    in the default sessions: it downloads the SDK's stack (pandas, numpy, ...).
    """
    session.install(".")
    session.install(".[boto3]", sdk, "--constraint", _boto3_constraints(session))
    session.run("python", "-m", "pip", "check")
    session.run(
        "python", "-W", "ignore", "-c", "import sagemaker, sagemaker_watch, boto3"
    )


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff: lint and formatting."""
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "examples", "bench", "noxfile.py")
    session.run(
        "ruff", "format", "--check", "src", "tests", "examples", "bench", "noxfile.py"
    )


@nox.session
def typecheck(session: nox.Session) -> None:
    """Mypy --strict on the package, the typing tests and this file."""
    _install(session, "typing")
    session.run(
        "mypy",
        *("--exclude", "examples/orchestrators/"),  # nox -s orchestrators checks them
        *("src", "tests/typing", "examples", "noxfile.py"),
    )


@nox.session
def examples(session: nox.Session) -> None:
    """Run every example against the embedded fake SageMaker."""
    _install(session)
    for example in EXAMPLES:
        session.run("python", str(example))


@nox.session
def bench(session: nox.Session) -> None:
    """Write BENCHMARKS.md: every section of ``python -m bench``.

    Calls versus delay on the published populations, fleet scale, per-poll
    overhead, the CLI, the soak, the cost of one call and of starting up, and the
    fleet's change-to-event delay. About 65 minutes on a quiet machine;
    ``-- --quick`` for about ten, ``-- --only latency,calls`` to re-run some
    sections and keep the others.
    """
    _install(session, "bench")
    session.run("python", "-m", "bench", *session.posargs)


@nox.session(name="bench_hints")
def bench_hints(session: nox.Session) -> None:
    """BENCHMARKS.md section 9: push hints against polling (~30 min; ``-- --quick``).

    Runs ``python -m bench --only hints`` (posargs are appended); writes
    bench/results/hints.json, which ``python -m bench`` keeps when not re-run.
    """
    _install(session, "bench")
    session.run("python", "-m", "bench", "--only", "hints", *session.posargs)


@nox.session(name="bench_logs")
def bench_logs(session: nox.Session) -> None:
    """BENCHMARKS.md section 10: sw.logs() against the SDK's polling (``-- --quick``).

    Runs ``python -m bench.logs`` (posargs are appended); writes
    bench/results/logs.json and section 10 at the end of BENCHMARKS.md.
    """
    _install(session, "bench")
    session.run("python", "-m", "bench.logs", *session.posargs)


@nox.session(name="bench_airflow")
def bench_airflow(session: nox.Session) -> None:
    """BENCHMARKS.md section 8: our Airflow trigger against the provider's (~15 min).

    Installs ``sagemaker-watch[airflow]`` (Airflow 3 and the amazon provider) and
    runs ``python -m bench.airflow_triggers --n 10 100 500`` (posargs replace
    the arguments); writes bench/results/airflow-triggers.json.
    """
    session.install("-e", ".[airflow]")
    session.run(
        "python",
        "-m",
        "bench.airflow_triggers",
        *(session.posargs or ("--n", "10", "100", "500")),
    )


@nox.session
def soak(session: nox.Session) -> None:
    """1,000 jobs through 24 simulated hours with faults (``-- --quick`` for less)."""
    _install(session, "bench")
    session.run("python", "-m", "bench.soak", *session.posargs)


#: Prefect and Dagster, bounded to the releases the examples were run on.
ORCHESTRATORS = ["prefect>=3.9,<4", "dagster>=1.9,<2"]


@nox.session(reuse_venv=True)
def orchestrators(session: nox.Session) -> None:
    """Run the Prefect and Dagster examples against the fake SageMaker, offline.

    Not a default session: the two bring some 150 packages (about 45 s to install
    with a warm cache). examples/orchestrators/check.py runs each example with
    temporary homes and no telemetry, and checks what it prints.
    """
    session.install(
        "-e", ".", *ORCHESTRATORS, "mypy>=1.11", "types-aiobotocore[sagemaker]>=2.13"
    )
    session.run("python", "-m", "pip", "check")
    session.run("mypy", "examples/orchestrators")
    session.run("python", "examples/orchestrators/check.py", *session.posargs)

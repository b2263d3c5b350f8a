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


def _install(session: nox.Session, *groups: str) -> None:
    deps = [d for g in groups for d in nox.project.dependency_groups(PYPROJECT, g)]
    session.install("-e", ".", *deps)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite under coverage on the current interpreter."""
    _install(session, "tests")
    session.run("coverage", "erase")
    session.run(
        "coverage",
        "run",
        "-m",
        "pytest",
        "--durations=10",
        *session.posargs,
    )
    session.run("coverage", "combine", "--quiet")
    session.run("coverage", "report")


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
    session.run("mypy", "src", "tests/typing", "examples", "noxfile.py")


@nox.session
def examples(session: nox.Session) -> None:
    """Run every example against the embedded fake SageMaker."""
    _install(session)
    for example in EXAMPLES:
        session.run("python", str(example))


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks (pass ``-- --quick`` for a short run)."""
    _install(session, "bench")
    session.run("python", "-m", "bench", *session.posargs)


@nox.session
def soak(session: nox.Session) -> None:
    """1,000 jobs through 24 simulated hours with faults (``-- --quick`` for less)."""
    _install(session, "bench")
    session.run("python", "-m", "bench.soak", *session.posargs)

r"""Every ``python`` and ``console`` block of README.md and docs/*.md runs as written.

Conventions, on the Markdown side:

* A ```` ```python ```` block is a complete program. It runs as ``python block.py`` in
  an empty temporary directory, as a user's script would, and must exit 0.
* A ```` ```console ```` block is a shell session. Every command starts with ``$ ``
  (a command ending in ``\`` continues on the next line); the lines after a command,
  up to the next ``$ ``, are what it prints (stdout and stderr, as a terminal shows
  them). The commands run in order in one ``bash`` (``pipefail`` on, stderr merged
  into stdout), so ``cd`` and ``export`` carry over. A command must exit 0, unless
  the next command is ``echo $?``, which then shows its status.
* A ```` ```json ````, ```` ```text ```` or ```` ```output ```` block right after a
  runnable block (only blank lines and markers between) shows what that block prints
  on stdout.
* Shown output is compared with printed output after ``docblocks.NORMALISE`` (times,
  resume tokens, the fake's port, trailing spaces). A console command that shows no
  lines is not compared; a runnable block without an output block neither.
* Markers are HTML comments on the lines right before a block:

  * ``<!-- docs-test: skip reason="..." -->``: the block does not run here (it needs
    an AWS account, installs from a registry, runs the whole suite, serves until
    Ctrl-C...). The reason is required.
  * ``<!-- docs-test: excerpt -->`` before an output block or a console block: the
    shown lines must appear, in order, among the printed ones; others may come between.
  * ``<!-- docs-test: pytest -->`` before a python block: it is a test module, saved
    as ``test_block.py`` and run with ``python -m pytest`` in its directory.
  * ``<!-- docs-test: notebook -->`` before a python block: it is a notebook cell
    (top-level ``await``), run the way IPython runs one: compiled with
    ``PyCF_ALLOW_TOP_LEVEL_AWAIT`` and awaited inside an already running asyncio
    event loop (``NOTEBOOK``), so ``asyncio.run()`` in it fails as in Jupyter.

Where it runs: each block gets its own ``FakeSageMaker`` in this process, on a clock
``SPEED`` times faster than real time, holding the jobs of ``JOBS`` (created as the
block starts; at that speed they have all ended by its first poll, so nothing sleeps
for a schedule's real seconds). The AWS variables of ``FakeSageMaker.environ()``
point every default client at it; the developer's own AWS settings are removed.
Blocks run side by side, ``PARALLEL`` at a time, once per session, for the blocks
selected; each test then checks one block, named ``file:line``.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import pytest

import sagemaker_watch
import sagemaker_watch._io.logging as log_names
from docblocks import MISLABELLED, RUNNABLE, Block, commands, mismatch, parse
from sagemaker_watch.cli._scenario import DEMO_FLEET
from sagemaker_watch.testing import FakeSageMaker, plain, spot_interrupted_once

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sagemaker_watch.testing import Timeline

ROOT = Path(__file__).parent.parent
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
#: Simulated seconds per real second: a day in under a second.
SPEED = 100_000.0
#: Real seconds one block may take.
TIMEOUT = 45.0
#: Blocks run at once.
PARALLEL = 4
#: The jobs every block finds, by name: those the docs name.
JOBS: Mapping[str, Timeline] = {
    "my-job": spot_interrupted_once(),
    "train-a": plain(training=600),
    "train-b": plain(training=1200),
    "train-c": plain(training=2400),
    **{entry.name: entry.timeline for entry in DEMO_FLEET},
}
#: The SQS queue the fake publishes the jobs' events into, as the docs name it.
QUEUE = "sagemaker-events"
_CITED = re.compile(r"`(?P<path>tests/[\w/]+\.py)::(?P<name>test_\w+)`")
_KNOWN_MARKERS = ("excerpt", "notebook", "pytest")
#: How a notebook cell runs: the kernel's loop is running, the cell awaited in it.
NOTEBOOK = """\
import ast, asyncio

async def kernel():
    with open("cell.py", encoding="utf-8") as cell:
        source = cell.read()
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    code = compile(source, "cell.py", "exec", flags=flags)
    result = eval(code, {"__name__": "__main__"})
    if result is not None:
        await result

asyncio.run(kernel())
"""


def _all() -> tuple[list[Block], list[Block], list]:
    blocks: list[Block] = []
    fences: list[Block] = []
    markers: list = []
    for path in DOCS:
        found, marked = parse(path)
        fences.extend(found)
        blocks.extend(block for block in found if block.lang in RUNNABLE)
        markers.extend(marked)
    return blocks, fences, markers


BLOCKS, FENCES, MARKERS = _all()
#: The blocks that run here: those marked skip are checked by the marker tests only,
#: so the suite reports no skipped test.
RUNS = [block for block in BLOCKS if block.skip_reason is None]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What running one block did."""

    returncode: int | None
    stdout: str
    stderr: str
    seconds: float = 0.0
    problems: tuple[str, ...] = ()


def _environ(fake: FakeSageMaker, home: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "PYTEST_", "COV_", "COVERAGE_"))
    }
    (home / "aws-config").write_text("")
    (home / "aws-credentials").write_text("")
    bin_dir = str(Path(sys.executable).parent)
    env.update(
        fake.environ(),
        AWS_CONFIG_FILE=str(home / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        PATH=bin_dir + os.pathsep + env.get("PATH", ""),
        PYTHONUNBUFFERED="1",
        NO_COLOR="1",
    )
    return env


def _script(block: Block) -> str:
    """Return a bash script running the block's commands between delimiters."""
    parts = ["exec 2>&1", "set -o pipefail", "__docs_rc=0"]
    for index, command in enumerate(commands(block)):
        parts += [
            f"printf '\\n@@docs-test {index}\\n'",
            "(exit $__docs_rc)",
            command.command,
            "__docs_rc=$?",
            "printf '\\n@@docs-test-rc %d\\n' $__docs_rc",
        ]
    return "\n".join(parts) + "\n"


def _split(printed: str) -> list[tuple[str, int | None]]:
    """Return each command's output and exit status from a ``_script`` run."""
    result: list[tuple[str, int | None]] = []
    for chunk in printed.split("\n@@docs-test ")[1:]:
        body = chunk.partition("\n")[2]
        output, _, rc = body.rpartition("\n@@docs-test-rc ")
        code = int(rc.split()[0]) if rc.strip() else None
        result.append((output if rc else body, code))
    return result


def _judge(block: Block, outcome: Outcome) -> tuple[str, ...]:
    """Return what is wrong with a finished run of *block*."""
    if outcome.returncode is None:
        return (f"did not finish within {TIMEOUT} s",)
    if block.lang == "console":
        return _judge_console(block, outcome)
    problems: list[str] = []
    if outcome.returncode != 0:
        problems.append(f"exited {outcome.returncode}")
    if block.output is not None:
        why = mismatch(block.output.text, outcome.stdout, excerpt=block.output.excerpt)
        if why:
            problems.append(f"output differs from {block.output.where}: {why}")
    return tuple(problems)


def _judge_console(block: Block, outcome: Outcome) -> tuple[str, ...]:
    problems: list[str] = []
    runs = _split(outcome.stdout)
    steps = commands(block)
    if len(runs) != len(steps):
        problems.append(f"ran {len(runs)} of {len(steps)} commands")
    for number, (step, (printed, code)) in enumerate(zip(steps, runs, strict=False)):
        after = steps[number + 1].command if number + 1 < len(steps) else ""
        if code != 0 and not after.startswith("echo $?"):
            problems.append(f"line {step.line}: `{step.command}` exited {code}")
        if step.shown:
            why = mismatch("\n".join(step.shown), printed, excerpt=block.excerpt)
            if why:
                problems.append(f"line {step.line}: `{step.command}`: {why}")
    return tuple(problems)


async def _run(block: Block, workdir: Path, limiter: anyio.CapacityLimiter) -> Outcome:
    async with limiter, FakeSageMaker(speed=SPEED, events_queue=QUEUE) as fake:
        for name, timeline in JOBS.items():
            fake.add_job(name, timeline)
        env = _environ(fake, workdir)
        if block.lang == "console":
            try:
                command = ["bash", "-c", _script(block)]
            except ValueError as exc:
                return Outcome(
                    returncode=None, stdout="", stderr="", problems=(str(exc),)
                )
        elif block.notebook:
            (workdir / "cell.py").write_text(block.text)
            command = [sys.executable, "-c", NOTEBOOK]
        elif block.pytest:
            (workdir / "test_block.py").write_text(block.text)
            command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        else:
            (workdir / "block.py").write_text(block.text)
            command = [sys.executable, "block.py"]
        started = time.monotonic()
        with anyio.move_on_after(TIMEOUT):
            done = await anyio.run_process(
                command,
                cwd=workdir,
                env=env,
                check=False,
                stdin=subprocess.DEVNULL,
            )
            outcome = Outcome(
                returncode=done.returncode,
                stdout=done.stdout.decode(errors="replace"),
                stderr=done.stderr.decode(errors="replace"),
                seconds=time.monotonic() - started,
            )
            return dataclasses.replace(outcome, problems=_judge(block, outcome))
    outcome = Outcome(returncode=None, stdout="", stderr="")
    return dataclasses.replace(outcome, problems=_judge(block, outcome))


@pytest.fixture(scope="session", name="outcomes")
def _outcomes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Outcome]:
    """Run every selected block once, side by side; their outcomes by ``file:line``."""
    wanted = [
        item.callspec.params["block"]
        for item in request.session.items
        if isinstance(item, pytest.Function)
        and item.originalname == "test_block_runs_as_written"
    ]
    results: dict[str, Outcome] = {}

    async def run_all() -> None:
        limiter = anyio.CapacityLimiter(PARALLEL)

        async def one(block: Block) -> None:
            workdir = tmp_path_factory.mktemp("block")
            results[block.where] = await _run(block, workdir, limiter)

        async with anyio.create_task_group() as tg:
            for block in wanted:
                tg.start_soon(one, block)

    anyio.run(run_all)
    return results


@pytest.mark.parametrize("block", RUNS, ids=[block.where for block in RUNS])
def test_block_runs_as_written(block: Block, outcomes: dict[str, Outcome]) -> None:
    """The block runs against the fake SageMaker and prints what the docs show."""
    outcome = outcomes[block.where]
    report = "\n".join(
        [
            *outcome.problems,
            f"--- ran {outcome.seconds:.1f} s",
            "--- stdout",
            outcome.stdout,
            "--- stderr",
            outcome.stderr,
        ]
    )
    assert () == outcome.problems, report


def test_every_marker_has_a_meaning_and_a_block() -> None:
    """Each docs-test marker is known, skips say why, and each sits on a block."""
    problems = []
    for marker in MARKERS:
        if marker.block is None:
            problems.append(f"{marker.where}: not on the line before a block")
            continue
        if marker.body.startswith("skip"):
            block = marker.block
            if block.skip_reason is None or not block.skip_reason.strip():
                problems.append(f'{marker.where}: write skip reason="why"')
            elif block.lang not in RUNNABLE:
                problems.append(f"{marker.where}: skip on a {block.lang!r} block")
        elif marker.body not in _KNOWN_MARKERS:
            problems.append(f"{marker.where}: unknown marker {marker.body!r}")
        elif marker.body == "pytest" and marker.block.lang != "python":
            problems.append(f"{marker.where}: pytest on a {marker.block.lang!r} block")
    assert [] == problems


def test_no_block_is_silently_passed_over() -> None:
    """Every runnable block is run or skipped with a reason; none hides as another."""
    run = [block for block in BLOCKS if block.skip_reason is None]
    skipped = [block for block in BLOCKS if block.skip_reason is not None]
    assert len(BLOCKS) == len(run) + len(skipped)
    assert len(run) >= len(skipped), "most blocks must run"
    hidden = [
        f"{fence.where}: a {fence.lang or 'bare'} block that reads like a session "
        "or a script: label it console or python"
        for fence in FENCES
        if fence.lang in MISLABELLED
        or (
            fence.lang not in RUNNABLE
            and fence.text.lstrip().startswith(("$ ", ">>> "))
        )
    ]
    assert [] == hidden


def test_blocks_found_in_every_file_that_has_them() -> None:
    """The reader finds the README's blocks, so a parsing slip cannot hide them all."""
    readme = [block for block in BLOCKS if block.path.name == "README.md"]
    with_output = [block for block in readme if block.output is not None]
    assert len(readme) >= 8
    assert len(with_output) >= 1


def test_console_blocks_start_with_a_command() -> None:
    """A console block's lines are all ``$ `` commands or what one printed."""
    problems = []
    for block in BLOCKS:
        if block.lang == "console":
            try:
                commands(block)
            except ValueError as exc:
                problems.append(str(exc))
    assert [] == problems


def test_every_test_the_docs_name_exists() -> None:
    """Each ``tests/...py::test_name`` the docs cite is a test defined in that file."""
    cited = {
        (match["path"], match["name"])
        for path in DOCS
        for match in _CITED.finditer(path.read_text(encoding="utf-8"))
    }
    missing = sorted(
        f"{path}::{name}"
        for path, name in cited
        if not (ROOT / path).is_file()
        or not re.search(
            rf"^(async )?def {name}\(", (ROOT / path).read_text(), re.MULTILINE
        )
    )
    assert len(cited) >= 20
    assert [] == missing


def test_every_public_name_is_documented() -> None:
    """Each name in ``sagemaker_watch.__all__`` is shown in the README or docs/."""
    text = "\n".join(path.read_text(encoding="utf-8") for path in DOCS)
    undocumented = [
        name
        for name in sagemaker_watch.__all__
        if name != "__version__"
        and not re.search(rf"(`|sw\.|sagemaker_watch\.|── ){re.escape(name)}\b", text)
    ]
    assert [] == undocumented


def test_docs_and_examples_use_only_public_names() -> None:
    """README, docs/ and examples/ reach the library only through ``__all__``."""
    public = set(sagemaker_watch.__all__) | {"testing", "blocking", "integrations"}
    # Log event names read like attributes: ``sagemaker_watch.history_anomaly``.
    logged = {
        value.removeprefix("sagemaker_watch.")
        for value in vars(log_names).values()
        if isinstance(value, str) and value.startswith("sagemaker_watch.")
    }
    sources = [*DOCS, *sorted((ROOT / "examples").rglob("*.py"))]
    used = {
        (path.name, match[1])
        for path in sources
        for match in re.finditer(
            r"\b(?:sw|sagemaker_watch)\.(\w+)", path.read_text(encoding="utf-8")
        )
    }
    assert len(used) >= 30
    assert [] == sorted(
        f"{where}: {name}" for where, name in used if name not in public | logged
    )


def test_orchestrator_examples_are_the_ones_the_readme_names() -> None:
    """The README's Prefect and Dagster section names each example; nox checks each."""
    folder = ROOT / "examples" / "orchestrators"
    spec = importlib.util.spec_from_file_location("check", folder / "check.py")
    assert spec is not None
    assert spec.loader is not None
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    examples = sorted(path.stem for path in folder.glob("*.py") if path.stem != "check")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Prefect and Dagster\n", 1)[1].split("\n#", 1)[0]
    noxfile = (ROOT / "noxfile.py").read_text(encoding="utf-8")
    assert ["dagster_asset", "prefect_flow"] == examples
    assert examples == sorted(check.EXAMPLES)
    assert [] == [name for name in examples if not (folder / f"{name}.txt").is_file()]
    assert [] == [
        name for name in examples if f"examples/orchestrators/{name}.py" not in section
    ]
    assert "$ python -m nox -s orchestrators" in section
    assert re.search(r"^def orchestrators\(", noxfile, re.MULTILINE)

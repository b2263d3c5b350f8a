"""Benchmark: the cost of one call and of starting up, before and after issue 11.

Two measurements, side by side in one run, loopback only:

* **Client CPU per call on a large answer** (60 transitions, 100 final metrics,
  100 long HyperParameters, 224 timestamps), served by a tiny HTTP server in a
  subprocess so that the parent's CPU time is the client's alone: a plain
  aiobotocore client (botocore's timestamp parser, through dateutil's local zone)
  against the client the library creates (``default_client``, timestamps read
  straight to UTC). Rounds alternate between the two; medians are reported, with
  the library's own CPU per poll (``Snapshot.from_response`` and the diff).
* **Import time**: the median of fresh interpreters running ``import
  sagemaker_watch`` (time inside the interpreter) and ``sagemaker-watch --version``
  (the whole process), for the sources of an old commit (``git archive`` into a
  temporary folder, ``--old``) and of the working tree, alternating.

Run: ``python -m bench.calls`` (about a minute); ``--json`` prints the numbers as
JSON; ``--old REV`` picks the commit to compare with (default ``6ab5da3~1``, the
last commit before issue 11's lazy imports); ``--quick`` takes fewer rounds and
interpreters. ``python -m bench --only calls`` runs the same as a section of
BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import io
import json
import os
import pathlib
import pickle
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from typing import TYPE_CHECKING, Any

import anyio
from aiobotocore.session import get_session

import sagemaker_watch as sw
from sagemaker_watch._io.client import ClientOptions, client_config, default_client

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = pathlib.Path(__file__).resolve().parent.parent
#: The last commit whose ``import sagemaker_watch`` loaded everything eagerly
#: (the parent of 6ab5da3, the lazy imports).
OLD = "6ab5da3~1"
REGION = "us-east-1"

_SERVER = """
import asyncio, sys
from aiohttp import web
BODY = sys.stdin.buffer.read()
async def answer(request):
    await request.read()
    return web.Response(body=BODY, content_type="application/x-amz-json-1.1")
async def main():
    app = web.Application()
    app.router.add_post("/", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}", flush=True)
    await asyncio.sleep(3600)
asyncio.run(main())
"""


def large_answer() -> dict[str, Any]:
    """A large, completed DescribeTrainingJob answer with 224 epoch timestamps."""
    start = 1_700_000_000.123456
    transitions = [
        {
            "Status": ("Training", "Interrupted")[i % 2],
            "StartTime": start + 61.7 * i,
            "EndTime": start + 61.7 * (i + 1),
            "StatusMessage": f"step {i}: {'training' if i % 2 else 'interrupted'}",
        }
        for i in range(60)
    ]
    return {
        "TrainingJobName": "large",
        "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/large",
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "CreationTime": start - 12.5,
        "LastModifiedTime": start + 3702.5,
        "TrainingStartTime": start + 1.5,
        "TrainingEndTime": start + 3702.0,
        "SecondaryStatusTransitions": transitions,
        "FinalMetricDataList": [
            {"MetricName": f"metric:{i}", "Value": i / 7, "Timestamp": start + i / 3}
            for i in range(100)
        ],
        "HyperParameters": {f"hp_{i}": "x" * 200 for i in range(100)},
        "AlgorithmSpecification": {
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/t:1",
            "TrainingInputMode": "File",
        },
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
        "ResourceConfig": {
            "InstanceType": "ml.p3.2xlarge",
            "InstanceCount": 2,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "ModelArtifacts": {"S3ModelArtifacts": "s3://bucket/large/model.tar.gz"},
        "BillableTimeInSeconds": 3700,
        "TrainingTimeInSeconds": 3700,
    }


@contextlib.contextmanager
def _server(body: bytes) -> Iterator[str]:
    """Serve *body* to every POST from a subprocess; yield its URL."""
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=False,
    )
    try:
        assert server.stdin is not None  # noqa: S101 - piped above
        assert server.stdout is not None  # noqa: S101 - piped above
        server.stdin.write(body)
        server.stdin.close()
        yield server.stdout.readline().decode().strip()
    finally:
        server.terminate()
        server.wait()


async def _cpu_per_call(client: Any, calls: int) -> float:  # noqa: ANN401 - untyped client
    """CPU seconds per describe call of *client*, over *calls* calls."""
    cpu0 = time.process_time()
    for _ in range(calls):
        await client.describe_training_job(TrainingJobName="large")
    return (time.process_time() - cpu0) / calls


async def call_cpu(*, rounds: int = 7, calls: int = 60) -> dict[str, Any]:
    """Client CPU per call, botocore's parser against ours, and the library's."""
    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    )
    with _server(json.dumps(large_answer()).encode()) as url:
        session = get_session()
        options = ClientOptions(region=REGION, endpoint_url=url)
        async with (
            session.create_client(
                "sagemaker",
                region_name=REGION,
                endpoint_url=url,
                config=client_config(),
            ) as plain,
            default_client(options) as ours,
        ):
            for client in (plain, ours):  # warm up: connections, models, caches
                await _cpu_per_call(client, 20)
            default_cpu, utc_cpu = [], []
            for _ in range(rounds):
                default_cpu.append(await _cpu_per_call(plain, calls))
                utc_cpu.append(await _cpu_per_call(ours, calls))
            theirs = await plain.describe_training_job(TrainingJobName="large")
            mine = await ours.describe_training_job(TrainingJobName="large")
    observed = dt.datetime.now(dt.UTC)
    identical = sw.Snapshot.from_response(
        theirs, observed_at=observed
    ) == sw.Snapshot.from_response(mine, observed_at=observed)
    default, utc = statistics.median(default_cpu), statistics.median(utc_cpu)
    return {
        "answer": dict(mine),
        "timestamps_in_answer": _count_timestamps(large_answer()),
        "answer_bytes": len(json.dumps(large_answer())),
        "rounds": rounds,
        "calls_per_round": calls,
        "default_parser_cpu_per_call_ms": default * 1e3,
        "utc_parser_cpu_per_call_ms": utc * 1e3,
        "cpu_per_call_reduction": 1 - utc / default,
        "snapshots_identical": identical,
    }


#: The library's CPU per poll in a fresh interpreter, for the sources on its path.
_LIBRARY = """
import pickle, sys, time
from sagemaker_watch._core.diff import diff_with_anomalies
from sagemaker_watch._core.snapshot import Snapshot
raw, observed, repeats = pickle.load(sys.stdin.buffer)
previous = Snapshot.from_response(raw, observed_at=observed)
for i in range(repeats + 20):
    if i == 20:  # after a warm-up
        cpu0 = time.process_time()
    snapshot = Snapshot.from_response(raw, observed_at=observed)
    previous = diff_with_anomalies(previous, snapshot).cursor
print((time.process_time() - cpu0) / repeats)
"""


def library_cpu(
    raw: dict[str, Any], sources: dict[str, pathlib.Path], *, runs: int = 5
) -> dict[str, float]:
    """Median CPU seconds per poll of each library in *sources*, alternating."""
    payload = pickle.dumps((raw, dt.datetime.now(dt.UTC), 300))
    seconds: dict[str, list[float]] = {name: [] for name in sources}
    for _ in range(runs):
        for name, src in sources.items():
            out = subprocess.run(  # noqa: S603 - our own interpreter and script
                [sys.executable, "-c", _LIBRARY],
                input=payload,
                env={**os.environ, "PYTHONPATH": str(src)},
                capture_output=True,
                check=True,
            ).stdout
            seconds[name].append(float(out))
    return {name: statistics.median(values) for name, values in seconds.items()}


def _count_timestamps(answer: dict[str, Any]) -> int:
    """The number of timestamp members in *answer* (a by-name count)."""
    direct = sum(key.endswith("Time") for key in answer)
    rows = sum(
        ("StartTime" in t) + ("EndTime" in t)
        for t in answer["SecondaryStatusTransitions"]
    )
    return direct + rows + len(answer["FinalMetricDataList"])


_IMPORT = (
    "import time; t = time.perf_counter(); import sagemaker_watch; "
    "print(time.perf_counter() - t)"
)


def _fresh_import(src: pathlib.Path) -> float:
    """Seconds a fresh interpreter spends in ``import sagemaker_watch`` from *src*."""
    out = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", _IMPORT],
        env={**os.environ, "PYTHONPATH": str(src)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(out)


def _version_process(src: pathlib.Path) -> float:
    """Wall seconds of a whole ``sagemaker-watch --version`` process from *src*."""
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "sagemaker_watch", "--version"],
        env={**os.environ, "PYTHONPATH": str(src)},
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - t0


def _loaded(src: pathlib.Path) -> list[str]:
    """The heavy top-level packages ``import sagemaker_watch`` loads from *src*."""
    code = (
        "import sys, sagemaker_watch; print(' '.join(sorted({m.partition('.')[0] "
        "for m in sys.modules} & {'aiobotocore', 'aiohttp', 'botocore', 'click', "
        "'rich', 'structlog'})))"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(src)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def _short(rev: str) -> str:
    """*rev* as a short commit hash (itself if git cannot resolve it)."""
    try:
        return subprocess.run(  # noqa: S603 - a commit the user names
            ["git", "rev-parse", "--short", rev],  # noqa: S607 - git from PATH
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return rev


@contextlib.contextmanager
def _sources(old: str) -> Iterator[dict[str, pathlib.Path]]:
    """Yield the ``src`` folders of commit *old* (``git archive``) and of the tree."""
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(  # noqa: S603 - a commit the user names
            ["git", "archive", old, "src"],  # noqa: S607 - git from PATH
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        yield {"old": pathlib.Path(folder) / "src", "new": ROOT / "src"}


def import_time(*, old: str = OLD, runs: int = 15) -> dict[str, Any]:
    """Median fresh-import and ``--version`` times, *old* commit against the tree."""
    with _sources(old) as sources:
        imports: dict[str, list[float]] = {"old": [], "new": []}
        versions: dict[str, list[float]] = {"old": [], "new": []}
        for _ in range(runs):
            for name, src in sources.items():
                imports[name].append(_fresh_import(src))
                versions[name].append(_version_process(src))
        loaded = {name: _loaded(src) for name, src in sources.items()}
    result: dict[str, Any] = {"old_commit": _short(old), "old_rev": old, "runs": runs}
    for name in ("old", "new"):
        result[f"{name}_import_ms"] = statistics.median(imports[name]) * 1e3
        result[f"{name}_version_process_ms"] = statistics.median(versions[name]) * 1e3
        result[f"{name}_heavy_modules"] = loaded[name]
    result["import_reduction"] = 1 - result["new_import_ms"] / result["old_import_ms"]
    result["version_reduction"] = (
        1 - result["new_version_process_ms"] / result["old_version_process_ms"]
    )
    return result


def run(
    *, quick: bool = False, old: str = OLD, runs: int | None = None
) -> dict[str, Any]:
    """Both measurements: client and library CPU per call, and start-up times.

    *quick* takes 3 rounds of 30 calls and 5 interpreters (else 7 x 60 and 15);
    *runs* overrides the number of interpreters.
    """
    rounds, calls = (3, 30) if quick else (7, 60)
    call = anyio.run(functools.partial(call_cpu, rounds=rounds, calls=calls))
    with _sources(old) as sources:
        library = library_cpu(call.pop("answer"), sources, runs=3 if quick else 7)
    default = call["default_parser_cpu_per_call_ms"] / 1e3
    utc = call["utc_parser_cpu_per_call_ms"] / 1e3
    call.update(
        library_commit=_short(old),
        library_cpu_per_poll_ms=library["new"] * 1e3,
        old_library_cpu_per_poll_ms=library["old"] * 1e3,
        # Before: the old library on botocore's parser; after: the new on ours.
        library_share_of_poll_old=library["old"] / (library["old"] + default),
        library_share_of_poll_default=library["new"] / (library["new"] + default),
        library_share_of_poll_utc=library["new"] / (library["new"] + utc),
    )
    return {
        "call": call,
        "import": import_time(
            old=old, runs=runs if runs is not None else (5 if quick else 15)
        ),
        "load_average": os.getloadavg(),
    }


def main() -> None:
    """Run both measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default=OLD, help="the commit to compare with")
    parser.add_argument("--runs", type=int, help="fresh interpreters (default 15)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and runs")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    results = run(quick=args.quick, old=args.old, runs=args.runs)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    call, imp = results["call"], results["import"]
    print(
        f"large answer ({call['timestamps_in_answer']} timestamps, "
        f"{call['answer_bytes']} bytes), client CPU per call, median of "
        f"{call['rounds']} x {call['calls_per_round']}:\n"
        f"  botocore's parser {call['default_parser_cpu_per_call_ms']:.2f} ms -> "
        f"UTC parser {call['utc_parser_cpu_per_call_ms']:.2f} ms "
        f"({call['cpu_per_call_reduction']:.0%} less); snapshots identical: "
        f"{call['snapshots_identical']}\n"
        f"  library per poll {call['old_library_cpu_per_poll_ms']:.3f} ms "
        f"({call['library_commit']}) -> {call['library_cpu_per_poll_ms']:.3f} ms; "
        f"share of a poll {call['library_share_of_poll_old']:.1%} before (old "
        f"library, botocore's parser), {call['library_share_of_poll_utc']:.1%} "
        "after (UTC parser)"
    )
    print(
        f"import sagemaker_watch, median of {imp['runs']} fresh interpreters: "
        f"{imp['old_import_ms']:.0f} ms ({imp['old_commit']}) -> "
        f"{imp['new_import_ms']:.0f} ms ({imp['import_reduction']:.0%} less)\n"
        f"  heavy packages loaded: {imp['old_heavy_modules']} -> "
        f"{imp['new_heavy_modules']}\n"
        f"sagemaker-watch --version, whole process: "
        f"{imp['old_version_process_ms']:.0f} ms -> "
        f"{imp['new_version_process_ms']:.0f} ms "
        f"({imp['version_reduction']:.0%} less)"
    )
    print(f"load average: {results['load_average']}")


if __name__ == "__main__":
    main()

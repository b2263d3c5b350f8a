"""Run the Prefect and Dagster examples offline and check what each one prints.

Each example runs in a child process of this interpreter, which needs
sagemaker-watch, Prefect 3 and Dagster installed (``python -m nox -s
orchestrators`` builds such an environment and runs this). The child gets a
temporary ``PREFECT_HOME``, ``DAGSTER_HOME`` and working directory (Prefect
reads settings from ``./pyproject.toml`` and ``./.env`` too), none of the
developer's ``PREFECT_*``, ``DAGSTER_*`` or ``AWS_*`` settings (so no Prefect
Cloud and no AWS account) and no telemetry: Prefect starts its temporary
server on 127.0.0.1, Dagster runs on an ephemeral instance. What an example
prints on standard output must equal the ``.txt`` file of its name beside it;
its logs go to standard error, shown only when it fails. Each one's time is
printed::

    python examples/orchestrators/check.py                 # both
    python examples/orchestrators/check.py prefect_flow    # one
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
EXAMPLES = ("prefect_flow", "dagster_asset")
#: Real seconds an example may take: a loaded machine starts Prefect's server slowly.
LIMIT = 300


def offline_environ(home: Path) -> dict[str, str]:
    """This environment less the developer's orchestrator and AWS settings."""
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PREFECT_", "DAGSTER_", "AWS_"))
    }
    (home / "dagster").mkdir()
    return kept | {
        "DO_NOT_TRACK": "1",
        "PREFECT_HOME": str(home / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": str(LIMIT),
        "DAGSTER_HOME": str(home / "dagster"),
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def check(name: str) -> bool:
    """Run one example; say whether it exited 0 printing what its ``.txt`` shows."""
    expected = (HERE / f"{name}.txt").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix=f"{name}-") as home:
        started = time.monotonic()
        run = subprocess.run(  # noqa: S603 - this interpreter, our own file
            [sys.executable, str(HERE / f"{name}.py")],
            env=offline_environ(Path(home)),
            cwd=home,  # Prefect reads settings from ./pyproject.toml and ./.env
            capture_output=True,
            text=True,
            timeout=LIMIT,
            check=False,
        )
        took = time.monotonic() - started
    ok = run.returncode == 0 and run.stdout == expected
    print(f"{name}: {'ok' if ok else 'FAILED'} in {took:.1f} s")
    if not ok:
        print(f"exit status {run.returncode}; standard error:\n{run.stderr}")
        print(f"printed:\n{run.stdout}expected:\n{expected}")
    return ok


def main(names: list[str]) -> int:
    """Check the examples named (all by default); return the exit status."""
    unknown = sorted(set(names) - set(EXAMPLES))
    if unknown:
        print(f"no such example: {', '.join(unknown)}; choose from {EXAMPLES}")
        return 2
    results = [check(name) for name in names or EXAMPLES]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

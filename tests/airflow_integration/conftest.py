"""Real Airflow for the integration's tests: a temporary home, SQLite, a fake SageMaker.

Airflow reads its configuration when first imported, so the environment is set
here, before any test module imports it; the metadata database is migrated once
per session by Airflow's own command. These tests run in ``nox -s airflow``
(Airflow is an optional extra; the main suite ignores this folder without it).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest
from anyio.from_thread import start_blocking_portal

HOME = pathlib.Path(tempfile.mkdtemp(prefix="airflow-home-"))
(HOME / "dags").mkdir()
shutil.copy(pathlib.Path(__file__).with_name("dags.py"), HOME / "dags" / "dags.py")
os.environ.update(
    {
        "AIRFLOW_HOME": str(HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(HOME / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{HOME}/airflow.db",
    }
)

#: Simulated seconds per real second: six hours of training in a few seconds.
SPEED = 3000.0


@pytest.fixture(scope="session")
def airflow_db():
    """Migrate the SQLite metadata database with Airflow's own command, once."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )
    yield HOME
    shutil.rmtree(HOME, ignore_errors=True)


class Served:
    """The fake SageMaker on a thread of its own, driven from synchronous tests."""

    def __init__(self, portal, fake):
        self.portal = portal
        self.fake = fake

    def add_job(self, name, timeline):
        """Create a job on the fake's own thread."""
        self.portal.call(lambda: self.fake.add_job(name, timeline))

    def describe(self, name):
        """Return the fake's DescribeTrainingJob answer for *name*."""
        return self.portal.call(lambda: self.fake.describe_job(name))

    def request_count(self, operation=None, job_name=None):
        """Count the requests the fake answered."""
        return self.portal.call(lambda: self.fake.request_count(operation, job_name))

    @property
    def clock(self):
        """The fake's scaled clock."""
        return self.fake.clock


@pytest.fixture
def sagemaker(airflow_db, monkeypatch):  # noqa: ARG001 - migrated first
    """The fake SageMaker, fast, behind an Airflow AWS connection ``sagemaker_fake``.

    The shared fleets run on the fake's clock (compressed time), as its jobs do.
    """
    from sagemaker_watch.integrations.airflow import TrainingJobTrigger  # noqa: PLC0415
    from sagemaker_watch.testing import FakeSageMaker  # noqa: PLC0415

    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(FakeSageMaker(speed=SPEED)) as fake,
    ):
        connection = {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {"region_name": "us-east-1", "endpoint_url": fake.endpoint_url},
        }
        monkeypatch.setenv("AIRFLOW_CONN_SAGEMAKER_FAKE", json.dumps(connection))
        monkeypatch.setattr(TrainingJobTrigger, "clock", fake.clock)
        yield Served(portal, fake)


#: Warnings raised inside Airflow's own stack (not by this project); the suite
#: turns every other warning into an error.
AIRFLOWS_OWN_WARNINGS = [
    "ignore:Using `httpx` with `starlette.testclient` is deprecated:UserWarning",
]


def pytest_collection_modifyitems(items):
    """Let Airflow's own deprecation warnings pass in this folder's tests."""
    for item in items:
        if "airflow_integration" in str(item.path):
            for spec in AIRFLOWS_OWN_WARNINGS:
                item.add_marker(pytest.mark.filterwarnings(spec))

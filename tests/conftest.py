"""Shared fixtures: a clean AWS environment for every test."""

from __future__ import annotations

import importlib.util
import os

import pytest
import pytest_asyncio

pytest_plugins = ["sagemaker_watch.testing.pytest_plugin"]

#: The Airflow integration's tests run where Airflow is installed: ``nox -s airflow``
#: (part of the README's test command) installs it; the main session has none.
collect_ignore = [] if importlib.util.find_spec("airflow") else ["airflow_integration"]

#: Modules whose tests share an expensive module or session fixture (the README's
#: block runs, a moto server, the wheel): pytest-xdist hands each of them to one
#: worker whole, so the fixture is set up once. Every other test is its own unit.
SHARED_SETUP_MODULES = frozenset(
    {
        "tests/compat/test_moto.py",
        "tests/compat/test_moto_hints.py",
        "tests/compat/test_moto_logs.py",
        "tests/test_docs.py",
        "tests/test_docs_hints.py",
        "tests/test_logs_source.py",
        "tests/test_packaging.py",
        "tests/test_sqs_source.py",
    }
)


def work_unit(nodeid: str) -> str:
    """The unit of work *nodeid* is handed out in: its module or itself."""
    module = nodeid.split("::", 1)[0]
    return module if module in SHARED_SETUP_MODULES else nodeid


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, absent without it
def pytest_xdist_make_scheduler(config, log):
    """Under ``--dist loadgroup``, group by :data:`SHARED_SETUP_MODULES`.

    xdist's own grouping reads ``xdist_group`` marks by rewriting each item's
    nodeid, which pytest 9.2 no longer lets it do: the marks are silently
    ignored and every worker sets the shared fixtures up again. The controller
    never collects, so the groups are listed here by path.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling  # noqa: PLC0415 - xdist only

    class _SharedSetupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return _SharedSetupScheduling(config, log)


@pytest.fixture(autouse=True)
def _hide_developer_aws(monkeypatch, tmp_path):
    """Strip AWS_* variables and point AWS config files at empty files.

    No test may pick up the developer's credentials, profile, region or endpoint, nor
    reach the instance metadata service.
    """
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    config = tmp_path / "aws-config"
    credentials = tmp_path / "aws-credentials"
    config.write_text("")
    credentials.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest_asyncio.fixture(name="sim")
async def _sim(fake_sagemaker):
    """The fake SageMaker on a manual clock, with a real aiobotocore client for it."""
    async with fake_sagemaker.client() as client:
        yield fake_sagemaker, client


@pytest_asyncio.fixture(name="hostile")
async def _hostile(fake_sagemaker):
    """A hostile endpoint in front of the fake: passes through until told otherwise."""
    from hostile import HostileServer  # noqa: PLC0415 - a test helper module

    async with HostileServer(upstream=fake_sagemaker.endpoint_url) as server:
        yield server


@pytest.fixture(name="moto_url", scope="module")
def _moto_url():
    """Moto's server mode on a free loopback port, for one module's tests."""
    from moto.server import ThreadedMotoServer  # noqa: PLC0415 - moto is slow to load

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest_asyncio.fixture(name="moto_sqs")
async def _moto_sqs(moto_url):
    """A stock aiobotocore SQS client for moto, one attempt per call."""
    from aiobotocore.config import AioConfig  # noqa: PLC0415
    from aiobotocore.session import get_session  # noqa: PLC0415

    async with get_session().create_client(
        "sqs",
        region_name="us-east-1",
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - a dummy for moto
        config=AioConfig(retries={"mode": "standard", "total_max_attempts": 1}),
    ) as client:
        yield client

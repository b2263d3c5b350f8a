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

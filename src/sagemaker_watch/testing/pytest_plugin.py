"""A pytest plugin: the ``fake_sagemaker`` fixture, on a hand-driven clock.

Enable it with ``pytest_plugins = ["sagemaker_watch.testing.pytest_plugin"]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest_asyncio

from ._clocks import ManualClock
from ._server import FakeSageMaker

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


@pytest_asyncio.fixture(name="fake_sagemaker")
async def _fake_sagemaker() -> AsyncIterator[FakeSageMaker]:
    """Yield a running :class:`FakeSageMaker` on a :class:`ManualClock`."""
    async with FakeSageMaker(clock=ManualClock()) as fake:
        yield fake

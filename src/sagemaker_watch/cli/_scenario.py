"""Scenarios for the fake SageMaker: which jobs to create, following which timeline.

A scenario file is TOML: a list of ``[[jobs]]`` tables, each with a ``name``, the
name of a ready-made ``timeline`` (``sagemaker_watch.testing.TIMELINES``), the
timeline's keyword ``params`` and an optional ``start`` offset in simulated
seconds. The demo fleet is a scenario too.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sagemaker_watch as sw
from sagemaker_watch.testing import TIMELINES

from .._core.names import validate_job_name

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from sagemaker_watch.testing import Timeline

_KEYS = frozenset({"name", "timeline", "params", "start"})


class ScenarioError(ValueError):
    """A scenario file that cannot be read; the message says where and why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioJob:
    """One job of a scenario.

    Attributes:
        name: the training job's name.
        timeline: the script it follows.
        start: simulated seconds after the fake starts at which it is created.
        params: the timeline's keyword arguments, as given.
    """

    name: str
    timeline: Timeline
    start: float = 0.0
    params: Mapping[str, float] = field(default_factory=dict)


def job(
    name: str, timeline: str, *, start: float = 0.0, **params: float
) -> ScenarioJob:
    """Return a scenario job following the ready-made *timeline* with *params*."""
    return ScenarioJob(
        name=name, timeline=TIMELINES[timeline](**params), start=start, params=params
    )


#: The demo fleet: one job per interesting lifecycle, durations in simulated
#: seconds chosen so that the whole fleet ends after about 1,000 of them.
DEMO_FLEET: tuple[ScenarioJob, ...] = (
    job("resnet50-baseline", "plain", starting=60, downloading=40, training=600),
    job(
        "bert-finetune-spot",
        "spot_interrupted_once",
        starting=60,
        downloading=30,
        training=600,
        interrupted=200,
    ),
    job("llama-lora-oom", "failure", starting=60, downloading=40, training=300),
    job("vit-large-sweep-07", "max_runtime", starting=60, downloading=40, training=700),
    job(
        "gpt2-pretrain-retry",
        "retry_restart",
        starting=60,
        downloading=30,
        training=500,
        restarting=60,
    ),
)


def demo_fleet(copies: int = 1) -> tuple[ScenarioJob, ...]:
    """Return the demo fleet, *copies* times over (``-2``, ``-3``, ... suffixes)."""
    if copies == 1:
        return DEMO_FLEET
    return tuple(
        ScenarioJob(
            name=f"{entry.name}-{index}",
            timeline=entry.timeline,
            start=entry.start,
            params=entry.params,
        )
        for index in range(1, copies + 1)
        for entry in DEMO_FLEET
    )


def load(path: Path) -> tuple[ScenarioJob, ...]:
    """Read a scenario file.

    Raises:
        ScenarioError: the file is unreadable, not TOML, or describes jobs wrongly.
    """
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"cannot read {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path} is not valid TOML: {exc}") from None
    unknown = set(document) - {"jobs"}
    if unknown:
        raise ScenarioError(f"{path}: unknown top-level keys {sorted(unknown)}")
    entries = document.get("jobs")
    if not isinstance(entries, list) or not entries:
        raise ScenarioError(f"{path}: expected one or more [[jobs]] tables")
    jobs = tuple(_entry(path, index, entry) for index, entry in enumerate(entries, 1))
    names = [entry.name for entry in jobs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ScenarioError(f"{path}: job names used twice: {', '.join(duplicates)}")
    return jobs


def _entry(path: Path, index: int, entry: object) -> ScenarioJob:
    where = f"{path}: jobs[{index}]"
    if not isinstance(entry, dict):
        raise ScenarioError(f"{where} is not a table")
    unknown = set(entry) - _KEYS
    if unknown:
        known = ", ".join(sorted(_KEYS))
        raise ScenarioError(f"{where}: unknown keys {sorted(unknown)} (known: {known})")
    name, timeline = entry.get("name"), entry.get("timeline", "plain")
    if not isinstance(name, str):
        raise ScenarioError(f"{where}: 'name' must be a string")
    try:
        validate_job_name(name)
    except sw.InvalidJobName as exc:
        raise ScenarioError(f"{where}: {exc}") from None
    if not isinstance(timeline, str) or timeline not in TIMELINES:
        known = ", ".join(sorted(TIMELINES))
        raise ScenarioError(f"{where}: unknown timeline {timeline!r} (known: {known})")
    start = entry.get("start", 0)
    if (
        isinstance(start, bool)
        or not isinstance(start, int | float)
        or not (math.isfinite(start) and start >= 0)
    ):
        raise ScenarioError(f"{where}: 'start' must be a number of seconds >= 0")
    params = entry.get("params", {})
    if not isinstance(params, dict):
        raise ScenarioError(f"{where}: 'params' must be a table")
    try:
        made = TIMELINES[timeline](**params)
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"{where}: bad params for {timeline!r}: {exc}") from None
    return ScenarioJob(name=name, timeline=made, start=float(start), params=params)

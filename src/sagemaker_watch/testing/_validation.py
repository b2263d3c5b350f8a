"""What ``CreateTrainingJob`` refuses: names, timeline tags and stopping conditions."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ._catalogue import TIMELINES
from ._errors import ApiError, validation_error, validation_message
from ._timelines import DEFAULT_MAX_RUNTIME, Timeline

if TYPE_CHECKING:
    from collections.abc import Iterable

#: The tag that picks a ready-made timeline for a job created over the API.
TIMELINE_TAG = "sagemaker-watch:timeline"

_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def check_name(name: object) -> str:
    """Return *name* if it is a valid training job name.

    Raises:
        ApiError: ``ValidationException`` naming the pattern it fails.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise validation_error(
            f"1 validation error detected: Value '{name}' at 'trainingJobName' "
            "failed to satisfy constraint: Member must satisfy regular expression "
            "pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
        )
    return name


def name_in_use(arn: str) -> ApiError:
    """The ``ResourceInUse`` error for a name already taken by the job at *arn*."""
    return ApiError(
        "ResourceInUse",
        "Training job names must be unique within an AWS account and region, "
        f"and a training job with this name already exists ({arn})",
    )


def tagged_timeline(tags: Iterable[Any], default: Timeline) -> Timeline:
    """The timeline a ``sagemaker-watch:timeline`` tag picks, else *default*.

    Raises:
        ApiError: ``ValidationException`` if the tag names no ready-made timeline.
    """
    timeline = default
    for tag in tags:
        if isinstance(tag, dict) and tag.get("Key") == TIMELINE_TAG:
            factory = TIMELINES.get(str(tag.get("Value")))
            if factory is None:
                raise validation_error(
                    f"Unknown {TIMELINE_TAG} {tag.get('Value')!r}; "
                    f"known: {', '.join(sorted(TIMELINES))}"
                )
            timeline = factory()
    return timeline


def resolve_timeline(timeline: Timeline | str) -> Timeline:
    """*timeline* itself, or a fresh ready-made one by that name.

    Raises:
        ValueError: If no ready-made timeline has that name.
    """
    if isinstance(timeline, Timeline):
        return timeline
    factory = TIMELINES.get(timeline)
    if factory is None:
        raise ValueError(
            f"unknown timeline {timeline!r}; known: {', '.join(sorted(TIMELINES))}"
        )
    return factory()


def check_stopping_condition(condition: object, *, spot: bool) -> None:
    """Reject what CreateTrainingJob rejects in a ``StoppingCondition``.

    Raises:
        ApiError: ``ValidationException`` for a missing condition, limits below
            one second (all in one message), or a spot job whose
            ``MaxWaitTimeInSeconds`` is missing or below its runtime.
    """
    if not isinstance(condition, dict):
        raise validation_error(
            "1 validation error detected: Value null at 'stoppingCondition' failed "
            "to satisfy constraint: Member must not be null"
        )
    errors = [
        f"Value '{value}' at 'stoppingCondition.{member[0].lower()}{member[1:]}' "
        "failed to satisfy constraint: Member must have value greater than or "
        "equal to 1"
        for member in ("MaxRuntimeInSeconds", "MaxWaitTimeInSeconds")
        if (value := condition.get(member)) is not None
        and not (isinstance(value, int) and value >= 1)
    ]
    if errors:
        raise validation_error(validation_message(errors))
    runtime = condition.get("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME)
    wait = condition.get("MaxWaitTimeInSeconds")
    if spot and (wait is None or wait < runtime):
        raise validation_error(
            "Invalid MaxWaitTimeInSeconds. It must be present and be greater than "
            "or equal to MaxRuntimeInSeconds"
        )

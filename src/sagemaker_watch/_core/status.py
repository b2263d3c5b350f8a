"""Training job statuses as SageMaker reports them, unknown values carried."""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Self

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping


class _CarryingStrEnum(StrEnum):
    """A ``StrEnum`` that carries values it does not know instead of failing.

    SageMaker documents its status values as "subject to change": the service adds
    new ones. Calling the enum with an unknown string returns a *pseudo-member* of
    the enum that carries the raw string: it compares and hashes equal to that
    string (and to any other pseudo-member of the same value), ``str()`` gives the
    string back, ``is_known`` is ``False`` and it is not listed when the enum is
    iterated. Pseudo-members are not cached, so compare them with ``==``, never
    with ``is``. Only strings are carried: anything else still raises
    ``ValueError``.
    """

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        if not isinstance(value, str):
            return None
        pseudo = str.__new__(cls, value)
        pseudo._name_ = value
        pseudo._value_ = value
        return pseudo

    @property
    def is_known(self) -> bool:
        """Whether this value is one this version of the library knows."""
        return type(self)._member_map_.get(self._name_) is self


class PrimaryStatus(_CarryingStrEnum):
    """A training job's ``TrainingJobStatus``; unknown values are carried.

    ``Completed``, ``Failed`` and ``Stopped`` are terminal (see
    ``TERMINAL_STATUSES``). A value the library does not know is terminal only
    when the secondary status says the job ended (see ``SECONDARY_OUTCOMES`` and
    ``Snapshot.outcome``).
    """

    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    DELETING = "Deleting"


class SecondaryStatus(_CarryingStrEnum):
    """A training job's ``SecondaryStatus`` or a transition's status.

    The service adds values over time; an unknown one is carried as a pseudo-member
    (``SecondaryStatus("Quantum") == "Quantum"``, ``is_known`` is ``False``).
    """

    STARTING = "Starting"
    LAUNCHING_ML_INSTANCES = "LaunchingMLInstances"
    PREPARING_TRAINING_STACK = "PreparingTrainingStack"
    DOWNLOADING = "Downloading"
    DOWNLOADING_TRAINING_IMAGE = "DownloadingTrainingImage"
    TRAINING = "Training"
    UPLOADING = "Uploading"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    MAX_RUNTIME_EXCEEDED = "MaxRuntimeExceeded"
    COMPLETED = "Completed"
    FAILED = "Failed"
    INTERRUPTED = "Interrupted"
    MAX_WAIT_TIME_EXCEEDED = "MaxWaitTimeExceeded"
    UPDATING = "Updating"
    RESTARTING = "Restarting"
    PENDING = "Pending"


#: Primary statuses after which a job never changes again.
TERMINAL_STATUSES: Final[frozenset[PrimaryStatus]] = frozenset(
    {PrimaryStatus.COMPLETED, PrimaryStatus.FAILED, PrimaryStatus.STOPPED}
)

#: Secondary statuses that set a job up: what follows them is another step, not an
#: outcome (polled up to ``PollSchedule.setup_max_delay``).
SETUP_PHASES: Final[frozenset[SecondaryStatus]] = frozenset(
    {
        SecondaryStatus.STARTING,
        SecondaryStatus.PENDING,
        SecondaryStatus.LAUNCHING_ML_INSTANCES,
        SecondaryStatus.PREPARING_TRAINING_STACK,
        SecondaryStatus.DOWNLOADING,
        SecondaryStatus.DOWNLOADING_TRAINING_IMAGE,
        SecondaryStatus.RESTARTING,
        SecondaryStatus.INTERRUPTED,
    }
)

#: Secondary statuses an outcome follows (polled up to
#: ``PollSchedule.closing_max_delay``), as does the primary status ``Stopping``.
CLOSING_PHASES: Final[frozenset[SecondaryStatus]] = frozenset(
    {SecondaryStatus.UPLOADING, SecondaryStatus.STOPPING}
)

#: Deprecated: the phases ``PollSchedule.short_phase_max_delay`` used to cover;
#: see ``SETUP_PHASES`` and ``CLOSING_PHASES``.
SHORT_PHASES: Final[frozenset[SecondaryStatus]] = frozenset(
    {
        SecondaryStatus.STARTING,
        SecondaryStatus.LAUNCHING_ML_INSTANCES,
        SecondaryStatus.PREPARING_TRAINING_STACK,
        SecondaryStatus.DOWNLOADING,
        SecondaryStatus.DOWNLOADING_TRAINING_IMAGE,
        SecondaryStatus.UPLOADING,
        SecondaryStatus.STOPPING,
        SecondaryStatus.RESTARTING,
        SecondaryStatus.PENDING,
        SecondaryStatus.UPDATING,
    }
)

#: Secondary statuses that mean managed spot capacity was taken back.
INTERRUPTION_STATUSES: Final[frozenset[SecondaryStatus]] = frozenset(
    {SecondaryStatus.INTERRUPTED}
)

#: Secondary statuses that name why a Stopped job stopped.
STOP_REASONS: Final[frozenset[SecondaryStatus]] = frozenset(
    {
        SecondaryStatus.STOPPED,
        SecondaryStatus.MAX_RUNTIME_EXCEEDED,
        SecondaryStatus.MAX_WAIT_TIME_EXCEEDED,
    }
)

#: The outcome a terminal secondary status implies: what ``Snapshot.outcome`` reads
#: when the primary status is a value this version does not know (read-only).
SECONDARY_OUTCOMES: Final[Mapping[SecondaryStatus, PrimaryStatus]] = MappingProxyType(
    {
        SecondaryStatus.COMPLETED: PrimaryStatus.COMPLETED,
        SecondaryStatus.FAILED: PrimaryStatus.FAILED,
        SecondaryStatus.STOPPED: PrimaryStatus.STOPPED,
        SecondaryStatus.MAX_RUNTIME_EXCEEDED: PrimaryStatus.STOPPED,
        SecondaryStatus.MAX_WAIT_TIME_EXCEEDED: PrimaryStatus.STOPPED,
    }
)


def wanted_statuses(
    status: SecondaryStatus | str | Collection[SecondaryStatus | str],
) -> frozenset[SecondaryStatus]:
    """The secondary statuses a ``wait_for_status`` call asks for (one, or several).

    Raises:
        ValueError: *status* is an empty collection.
    """
    wanted = frozenset(
        {SecondaryStatus(status)}
        if isinstance(status, str)
        else {SecondaryStatus(s) for s in status}
    )
    if not wanted:
        msg = "wait_for_status needs at least one status to wait for"
        raise ValueError(msg)
    return wanted

"""One simulated training job: its record, its defaults, and how it reads on the wire.

A job's answers are functions of its request and its
:class:`~sagemaker_watch.testing._plan.Plan` at a simulated instant; timestamps are
float seconds at the service's millisecond precision, as the JSON protocol sends
them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ._listing import ListedJob
from ._plan import Plan

if TYPE_CHECKING:
    from ._plan import JobState
    from ._timelines import Timeline

JSON = dict[str, Any]

_PASSTHROUGH = (
    "VpcConfig",
    "CheckpointConfig",
    "DebugHookConfig",
    "ExperimentConfig",
    "DebugRuleConfigurations",
    "TensorBoardOutputConfig",
    "ProfilerConfig",
    "ProfilerRuleConfigurations",
    "RemoteDebugConfig",
    "InfraCheckConfig",
)
_BEFORE_WARM_POOL = (
    "HyperParameters",
    "AlgorithmSpecification",
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
)
_FLAGS = (
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
)
_PROGRESS_MEMBERS = (
    "TotalStepCountPerEpoch",
    "CurrentStep",
    "CurrentEpoch",
    "MaxEpoch",
)


class SimulatedJob:
    """A job the simulated service holds: its request, timeline and plan.

    Attributes:
        name: ``TrainingJobName``.
        arn: ``TrainingJobArn``.
        timeline: The script it follows.
        request: The ``CreateTrainingJob`` members, defaults filled in.
        created: ``CreationTime``, at millisecond precision.
        plan: The timeline laid out from *created* (and from a stop, if any).
        deleting_at: When ``DeleteTrainingJob`` was accepted, if it was.
    """

    __slots__ = ("arn", "created", "deleting_at", "name", "plan", "request", "timeline")

    def __init__(
        self, name: str, arn: str, timeline: Timeline, request: JSON, created: float
    ) -> None:
        """Lay the job's *timeline* out from *created*."""
        self.name = name
        self.arn = arn
        self.timeline = timeline
        self.request = request
        self.created = created
        self.plan = self.replan()
        self.deleting_at: float | None = None

    def replan(self, stop_at: float | None = None) -> Plan:
        """Lay the timeline out under the request's ``StoppingCondition``."""
        return Plan(
            self.timeline,
            created=self.created,
            stop_at=stop_at,
            stopping_condition=self.request.get("StoppingCondition") or {},
        )

    def primary_at(self, now: float) -> str:
        """The primary status at *now*, ``Deleting`` once a delete was accepted."""
        return "Deleting" if self.deleting_at is not None else self.plan.primary_at(now)

    def describe(self, now: float) -> JSON:
        """The ``DescribeTrainingJob`` answer at simulated time *now*."""
        state = self.plan.state(now)
        request = self.request
        output = request.get("OutputDataConfig") or {}
        s3 = str(output.get("S3OutputPath", "s3://bucket/")).rstrip("/")
        answer: JSON = {
            "TrainingJobName": self.name,
            "TrainingJobArn": self.arn,
            "ModelArtifacts": {
                "S3ModelArtifacts": f"{s3}/{self.name}/output/model.tar.gz"
            },
            "TrainingJobStatus": "Deleting"
            if self.deleting_at is not None
            else state.primary,
            "SecondaryStatus": state.secondary,
        }
        if state.failure_reason is not None:
            answer["FailureReason"] = state.failure_reason
        _copy(answer, request, _BEFORE_WARM_POOL)
        warm_pool = _warm_pool(request, state.primary, self.plan.terminal_at, now)
        changed = 0.0
        if warm_pool is not None:
            answer["WarmPoolStatus"], changed = warm_pool
        answer["StoppingCondition"] = request.get("StoppingCondition") or {}
        answer["CreationTime"] = _ms(self.created)
        if state.training_start is not None:
            answer["TrainingStartTime"] = _ms(state.training_start)
        if state.training_end is not None:
            answer["TrainingEndTime"] = _ms(state.training_end)
        answer["LastModifiedTime"] = _ms(
            max(state.last_modified, self.deleting_at or 0.0, changed)
        )
        answer["SecondaryStatusTransitions"] = _transitions(state)
        if state.final_metrics is not None:
            answer["FinalMetricDataList"] = [
                {"MetricName": name, "Value": _float(value), "Timestamp": _ms(at)}
                for name, value, at in state.final_metrics
            ]
        for member in _FLAGS:
            answer[member] = bool(request.get(member, False))
        _copy(answer, request, _PASSTHROUGH)
        if state.training_seconds is not None:
            answer["TrainingTimeInSeconds"] = state.training_seconds
            answer["BillableTimeInSeconds"] = state.billable_seconds
        answer["ProfilingStatus"] = (
            "Enabled" if "ProfilerConfig" in request else "Disabled"
        )
        _copy(answer, request, ("Environment", "RetryStrategy"))
        if state.progress is not None:
            answer["ProgressInfo"] = dict(
                zip(_PROGRESS_MEMBERS, state.progress, strict=True)
            )
        return answer

    def listed(
        self, summary: tuple[str, str, float, float | None], now: float
    ) -> ListedJob:
        """The job as ``ListTrainingJobs`` shows it, from its plan's *summary*."""
        primary, secondary, modified, end = summary
        if self.deleting_at is not None:
            primary = "Deleting"
            modified = max(modified, self.deleting_at)
        warm_pool = _warm_pool(self.request, primary, self.plan.terminal_at, now)
        status = None
        if warm_pool is not None:
            status, changed = warm_pool
            modified = max(modified, changed)
        return ListedJob(
            name=self.name,
            arn=self.arn,
            created=self.created,
            primary=primary,
            secondary=secondary,
            modified=modified,
            end=end,
            warm_pool=status,
        )


def default_request(timeline: Timeline, *, region: str, account_id: str) -> JSON:
    """The realistic ``CreateTrainingJob`` members a job on *timeline* starts from."""
    bucket = f"s3://sagemaker-{region}-{account_id}"
    stopping: JSON = timeline.stopping_condition()
    request: JSON = {
        "RoleArn": f"arn:aws:iam::{account_id}:role/service-role/"
        "AmazonSageMaker-ExecutionRole-20240101T000000",
        "AlgorithmSpecification": {
            "TrainingImage": f"763104351884.dkr.ecr.{region}.amazonaws.com/"
            "pytorch-training:2.2.0-gpu-py310",
            "TrainingInputMode": "File",
            "EnableSageMakerMetricsTimeSeries": False,
        },
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"{bucket}/datasets/train",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "CompressionType": "None",
                "RecordWrapperType": "None",
            }
        ],
        "OutputDataConfig": {"KmsKeyId": "", "S3OutputPath": f"{bucket}/"},
        "ResourceConfig": {
            "InstanceType": "ml.g5.2xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": stopping,
        "EnableNetworkIsolation": False,
        "EnableInterContainerTrafficEncryption": False,
        "EnableManagedSpotTraining": timeline.spot,
    }
    if timeline.retry_attempts is not None:
        request["RetryStrategy"] = {"MaximumRetryAttempts": timeline.retry_attempts}
    return request


def _float(value: float) -> float | str:
    """A ``Float`` member as JSON protocols send it: non-finite values as strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _ms(t: float) -> float:
    """A timestamp at the service's precision: milliseconds."""
    return round(t, 3)


def _copy(answer: JSON, request: JSON, members: tuple[str, ...]) -> None:
    for member in members:
        if member in request:
            answer[member] = request[member]


def _transitions(state: JobState) -> list[JSON]:
    transitions = []
    for view in state.transitions:
        entry: JSON = {"Status": view.status, "StartTime": _ms(view.start)}
        if view.end is not None:
            entry["EndTime"] = _ms(view.end)
        if view.message is not None:
            entry["StatusMessage"] = view.message
        transitions.append(entry)
    return transitions


def _warm_pool(
    request: JSON, primary: str, terminal_at: float, now: float
) -> tuple[JSON, float] | None:
    """A completed job's ``WarmPoolStatus`` at *now*, and when it last changed."""
    keep = (request.get("ResourceConfig") or {}).get("KeepAlivePeriodInSeconds")
    if not keep or primary != "Completed":
        return None
    if now < terminal_at + keep:
        return {"Status": "Available"}, terminal_at
    return {
        "Status": "Terminated",
        "ResourceRetainedBillableTimeInSeconds": int(keep),
    }, terminal_at + keep

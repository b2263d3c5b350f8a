"""Wait for SageMaker training jobs as Dagster assets, one fleet for every wait.

One model asset per training job, defined together as a ``multi_asset``: its
step opens one ``FleetWatcher`` (one client, one rate budget, list sweeps once
ten or more jobs are watched) from a ``ConfigurableResource`` holding the
connection settings, waits for every selected job at once, and materialises
each model whose job completed, with the job's figures as metadata. If a job
failed or was stopped, the step then fails, its error naming each such job
with its FailureReason or stop reason; the models that completed stay
materialised.

Why one step for all the waits: Dagster's in-process executor runs steps one
after another (each async step on the run's one event loop), so separate
assets would wait one at a time; the multiprocess executor runs each step in a
process of its own, where no fleet can be shared. Inside one step the waits
run side by side on one fleet.

No ``from __future__ import annotations`` here: Dagster reads the compute
function's annotations as objects (the context's type, the resource's).

Runs against the embedded fake SageMaker (no AWS account needed), on an
ephemeral Dagster instance (nothing is written under ``DAGSTER_HOME``)::

    pip install sagemaker-watch "dagster>=1.9,<2"
    python examples/orchestrators/dagster_asset.py
"""

import os
from collections.abc import Iterator
from contextvars import ContextVar

import anyio
import dagster as dg
from anyio.from_thread import start_blocking_portal
from dagster import AssetExecutionContext

import sagemaker_watch as sw
from sagemaker_watch.testing import FakeSageMaker

#: The clock the fleet runs on: the embedded fake's compressed time in this
#: demo; unset (the system clock) against AWS.
CLOCK: ContextVar[sw.Clock | None] = ContextVar("CLOCK", default=None)

#: Each model asset and the training job that makes it.
MODELS = {
    "model_baseline": "train-baseline",
    "model_spot": "train-spot",
    "model_broken": "train-broken",
    "model_too_long": "train-too-long",
}

#: The demo's timeline of each job in the embedded fake.
LIFECYCLES = {
    "train-baseline": "plain",
    "train-spot": "spot_interrupted_once",
    "train-broken": "failure",
    "train-too-long": "max_runtime",
}


class SageMakerWatch(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Where the training jobs run, and how fast their waits may poll.

    Credentials come from the standard AWS chain (environment, profile,
    instance role); none is held here.
    """

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    describe_rate: float = 10.0
    give_up_after: float | None = 7 * 24 * 3600

    def fleet(self) -> sw.FleetWatcher:
        """Return a fleet with these settings, for ``async with`` in one step."""
        return sw.FleetWatcher(
            region=self.region,
            profile=self.profile,
            endpoint_url=self.endpoint_url,
            describe_rate=self.describe_rate,
            clock=CLOCK.get(),
        )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(key, skippable=True, metadata={"training_job": job})
        for key, job in MODELS.items()
    ],
    can_subset=True,
)
async def trained_models(  # type: ignore[no-untyped-def]  # noqa: ANN201 - see below
    context: AssetExecutionContext, sagemaker: SageMakerWatch
):
    """Wait for the selected models' training jobs at once, on one fleet.

    Dagster reads an async generator's return annotation as the type of its
    outputs (it checks ``isgeneratorfunction`` only), so this one has none:
    it yields a ``MaterializeResult`` for each model whose job completed. The
    fleet closes before the first ``yield``: Dagster resumes an async generator
    in a new asyncio task each time, and a fleet's task group must close in the
    task that opened it.

    Raises:
        Failure: a job failed, was stopped or could not be watched; the
            description names each with its reason.
    """
    keys = [dg.AssetKey(key) for key in MODELS]
    jobs = {
        key: MODELS[key.path[-1]] for key in keys if key in context.selected_asset_keys
    }
    done: dict[dg.AssetKey, sw.Snapshot] = {}
    failed: dict[str, str] = {}

    async def wait(fleet: sw.FleetWatcher, key: dg.AssetKey, job: str) -> None:
        try:
            done[key] = await fleet.wait_until_complete(
                job, timeout=sagemaker.give_up_after
            )
        except sw.SageMakerWatchError as exc:
            failed[job] = str(exc).splitlines()[0]
            context.log.error("%s", exc)  # noqa: TRY400 - the reason, no traceback
        else:
            context.log.info("training job %r completed", job)

    async with sagemaker.fleet() as fleet, anyio.create_task_group() as tg:
        for key, job in jobs.items():
            tg.start_soon(wait, fleet, key, job)
    for key in jobs:
        if key in done:
            yield dg.MaterializeResult(asset_key=key, metadata=_figures(done[key]))
    if failed:
        raise dg.Failure(
            description="; ".join(
                failed[job] for job in jobs.values() if job in failed
            ),
            metadata={
                job: dg.MetadataValue.text(reason) for job, reason in failed.items()
            },
            allow_retries=False,
        )


def _figures(snapshot: sw.Snapshot) -> dict[str, str | int | None]:
    """The completed job's figures, as the model's metadata."""
    return {
        "training_job_arn": snapshot.job_arn,
        "training_seconds": snapshot.training_time_seconds,
        "billable_seconds": snapshot.billable_time_seconds,
        "model_artifacts": snapshot.model_artifacts or "",
    }


def summary(result: dg.ExecuteInProcessResult) -> Iterator[str]:
    """Say what each model asset ended as, and why a step failed."""
    materialised = {
        event.asset_key: event.materialization
        for event in result.get_asset_materialization_events()
        if event.asset_key is not None and event.materialization is not None
    }
    for key, job in MODELS.items():
        materialization = materialised.get(dg.AssetKey(key))
        if materialization is None:
            yield f"{key:16} not materialised ({job})"
        else:
            seconds = materialization.metadata["training_seconds"].value
            yield f"{key:16} materialised after {seconds} s of training"
    for event in result.get_step_failure_events():
        error = event.step_failure_data.user_failure_data
        description = error.description if error is not None else "unknown error"
        yield f"step {event.step_key} failed: {description}"


def main() -> None:
    """Materialise the models against the embedded fake SageMaker."""
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(FakeSageMaker(speed=2000)) as fake,
    ):
        for job, lifecycle in LIFECYCLES.items():
            portal.call(fake.add_job, job, lifecycle)
        os.environ.update(fake.environ())  # the fake's dummy credentials
        CLOCK.set(fake.clock)
        resource = SageMakerWatch(region=fake.region, endpoint_url=fake.endpoint_url)
        result = dg.materialize(
            [trained_models],
            resources={"sagemaker": resource},
            raise_on_error=False,
        )
    for line in summary(result):
        print(line)
    print(f"run: {'succeeded' if result.success else 'failed'}")


if __name__ == "__main__":
    main()

"""The DAGs of the hints tests: one wait told the SQS queue of SageMaker's events."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from sagemaker_watch.integrations.airflow import WaitForTrainingJobOperator

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

with DAG(
    "wait_polled", schedule=None, start_date=START, params={"job": "j"}
) as wait_polled:
    WaitForTrainingJobOperator(
        task_id="wait", job_name="{{ params.job }}", aws_conn_id="sagemaker_fake"
    )

with DAG(
    "wait_hinted",
    schedule=None,
    start_date=START,
    params={"job": "j", "queue": "http://localhost/000000000000/events"},
) as wait_hinted:
    WaitForTrainingJobOperator(
        task_id="wait",
        job_name="{{ params.job }}",
        aws_conn_id="sagemaker_fake",
        sqs_queue_url="{{ params.queue }}",
    )

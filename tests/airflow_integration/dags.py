"""The DAGs the Airflow tests run with ``dag.test()``: what a user would write."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from sagemaker_watch.integrations.airflow import WaitForTrainingJobOperator

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

with DAG("wait", schedule=None, start_date=START, params={"job": "j"}) as wait:
    WaitForTrainingJobOperator(
        task_id="wait", job_name="{{ params.job }}", aws_conn_id="sagemaker_fake"
    )

with DAG(
    "wait_allow_stopped", schedule=None, start_date=START, params={"job": "j"}
) as wait_allow_stopped:
    WaitForTrainingJobOperator(
        task_id="wait",
        job_name="{{ params.job }}",
        aws_conn_id="sagemaker_fake",
        allow_stopped=True,
    )

with DAG(
    "wait_an_hour", schedule=None, start_date=START, params={"job": "j"}
) as wait_an_hour:
    WaitForTrainingJobOperator(
        task_id="wait",
        job_name="{{ params.job }}",
        aws_conn_id="sagemaker_fake",
        timeout=dt.timedelta(hours=1),
    )

with DAG(
    "wait_with_logs", schedule=None, start_date=START, params={"job": "j"}
) as wait_with_logs:
    WaitForTrainingJobOperator(
        task_id="wait",
        job_name="{{ params.job }}",
        aws_conn_id="sagemaker_fake",
        logs=True,
    )

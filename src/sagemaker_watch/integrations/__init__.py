"""Integrations with the engines our users wait in; each is an optional extra.

* ``sagemaker_watch.integrations.airflow``: a deferrable operator and trigger for
  Apache Airflow 3 (``pip install "sagemaker-watch[airflow]"``).
"""

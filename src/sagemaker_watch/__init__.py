"""Watch Amazon SageMaker training jobs from async Python."""

from __future__ import annotations

from importlib.metadata import version as _version

__version__ = _version("sagemaker-watch")

__all__ = ["__version__"]

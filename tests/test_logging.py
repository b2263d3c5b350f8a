"""Tests for the library's logging: namespaced, silent on import."""

from __future__ import annotations

import subprocess
import sys

from sagemaker_watch._io import logging as _logging


def test_importing_the_library_configures_no_logging():
    """Importing sagemaker_watch leaves structlog and stdlib logging unconfigured."""
    code = (
        "import logging, structlog, sagemaker_watch, sagemaker_watch.testing;"
        "print(structlog.is_configured(), logging.getLogger().handlers)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "False []\n" == out


def test_event_names_are_namespaced_constants():
    """Every log event name is a sagemaker_watch.* snake_case constant."""
    names = [v for k, v in vars(_logging).items() if k.isupper() and isinstance(v, str)]
    assert names
    for name in names:
        prefix, _, rest = name.partition(".")
        assert ("sagemaker_watch", True) == (prefix, rest.replace("_", "").isalpha())

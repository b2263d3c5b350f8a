"""Import cost: ``import sagemaker_watch`` and ``--version`` load no heavy dependency.

The drivers, the client and ``__version__`` load on first use; the core, the events
and the errors load with the package. Each check runs in a fresh interpreter and
reads ``sys.modules``, never a clock.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import sagemaker_watch

#: Top-level packages that make ``import sagemaker_watch`` slow (tenths of seconds).
HEAVY = ("aiobotocore", "aiohttp", "botocore", "click", "dateutil", "rich", "structlog")


def _fresh(code):
    """Run *code* in a fresh interpreter; return what it printed as JSON."""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.splitlines()[-1])


def _loaded(names):
    """The code that prints which of the top-level packages *names* are loaded."""
    return (
        "import json, sys; "
        f"print(json.dumps(sorted({{m.partition('.')[0] for m in sys.modules}} "
        f"& set({list(names)!r}))))"
    )


def test_importing_the_package_loads_no_heavy_dependency():
    """A fresh ``import sagemaker_watch`` loads no AWS, HTTP, CLI or logging package."""
    assert [] == _fresh("import sagemaker_watch; " + _loaded(HEAVY))


def test_importing_the_package_reads_no_distribution_metadata():
    """``__version__`` is read on first use, so importlib.metadata stays unloaded."""
    loaded = _fresh(
        "import sagemaker_watch, sys, json; "
        "print(json.dumps('importlib.metadata' in sys.modules))"
    )
    assert False is loaded


def test_every_public_name_resolves_in_a_fresh_interpreter():
    """Each ``__all__`` name is the object its defining module holds, once loaded."""
    code = (
        "import json, sys, sagemaker_watch as sw; "
        "names = [n for n in sw.__all__ if n != '__version__']; "
        "bad = [n for n in names if getattr(sw, n) is not getattr("
        "sys.modules[getattr(sw, n).__module__], n)]; "
        "print(json.dumps([len(names), bad, isinstance(sw.__version__, str)]))"
    )
    assert [len(sagemaker_watch.__all__) - 1, [], True] == _fresh(code)


def test_a_driver_loads_on_first_use_and_stays():
    """The first ``sagemaker_watch.watch`` loads the drivers; later ones are cached."""
    code = (
        "import json, sys, sagemaker_watch as sw; "
        "before = 'sagemaker_watch._drivers.watch' in sys.modules; "
        "first = sw.watch; "
        "print(json.dumps([before, 'watch' in vars(sw), first is sw.watch]))"
    )
    assert [False, True, True] == _fresh(code)


def test_star_import_brings_every_public_name():
    """``from sagemaker_watch import *`` binds the lazily loaded names too."""
    code = (
        "import json; from sagemaker_watch import *; "
        "import sagemaker_watch as sw; "
        "print(json.dumps([n for n in sw.__all__ if n not in globals()]))"
    )
    assert [] == _fresh(code)


def test_dir_lists_every_public_name_before_it_loads():
    """``dir(sagemaker_watch)`` names the lazy ones before their first use."""
    code = (
        "import json, sagemaker_watch as sw; "
        "print(json.dumps(sorted(set(sw.__all__) - set(dir(sw)))))"
    )
    assert [] == _fresh(code)


def test_unknown_names_still_raise_attribute_error():
    """A name that is neither public, lazy nor deprecated is an AttributeError."""
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = sagemaker_watch.no_such_thing


def test_version_flag_loads_no_aws_http_or_terminal_package():
    """``sagemaker-watch --version`` prints it without botocore, click or rich."""
    code = (
        "import json, sys; "
        "from sagemaker_watch.cli import main; "
        "code = main(['--version']); "
        "heavy = sorted({m.partition('.')[0] for m in sys.modules} "
        f"& set({list(HEAVY)!r})); "
        "print(json.dumps([code, heavy]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    version = sagemaker_watch.__version__
    assert f"sagemaker-watch {version}\n[0, []]\n" == out


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_flag_says_what_click_says(flag, capsys):
    """The short path prints exactly what the command group's version option does."""
    from sagemaker_watch.cli import main  # noqa: PLC0415 - the CLI under test

    assert 0 == main([flag])
    fast = capsys.readouterr().out
    assert 0 == main(["-v", flag])  # any other argument goes through click
    assert fast == capsys.readouterr().out


def test_structlog_loads_at_the_first_line_logged():
    """The library's logger imports structlog (and rich) when it first logs."""
    code = (
        "import json, sys; from sagemaker_watch._io.logging import logger; "
        "before = 'structlog' in sys.modules; "
        "logger.debug('sagemaker_watch.test', job_name='job'); "
        "print(json.dumps([before, 'structlog' in sys.modules]))"
    )
    assert [False, True] == _fresh(code)

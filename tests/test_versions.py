"""The tested versions live in one place (sdwidget/versions.py), pyproject.toml asks for them, and
an untested diffusers gives one warning per process naming the tested series and the check."""

import re
import subprocess
import sys
import warnings
from pathlib import Path

import diffusers
import pytest
import torch
import transformers

from sdwidget import versions

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def requirement(name: str) -> str:
    (spec,) = re.findall(rf'^    "{name}([^"]*)",$', PYPROJECT.read_text(), re.MULTILINE)
    return spec


def test_pyproject_asks_for_the_tested_series_and_the_installed_floors():
    major, minor = map(int, versions.DIFFUSERS_SERIES.split("."))
    assert requirement("diffusers") == f">={major}.{minor},<{major}.{minor + 1}"
    assert versions.series(diffusers.__version__) == versions.DIFFUSERS_SERIES, "the tests run the tested series"
    assert requirement("transformers") == f">={versions.series(transformers.__version__)},<6"
    assert requirement("torch") == f">={versions.series(torch.__version__)}"


@pytest.mark.parametrize("version", ["0.42.0", "0.42.1", "0.42.3+local"])
def test_the_tested_series_gives_no_warning(version, monkeypatch):
    monkeypatch.setattr(diffusers, "__version__", version)
    monkeypatch.setattr(versions, "_warned", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        versions.warn_if_untested()


@pytest.mark.parametrize("version", ["0.41.0", "0.43.0.dev0", "1.0.0"])
def test_an_untested_diffusers_warns_once_naming_the_range_and_the_check(version, monkeypatch):
    monkeypatch.setattr(diffusers, "__version__", version)
    monkeypatch.setattr(versions, "_warned", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            versions.warn_if_untested()
    assert len(caught) == 1 and caught[0].category is versions.UntestedVersionWarning
    text = str(caught[0].message)
    assert "diffusers 0.42.x" in text and version in text and "python -m sdwidget check" in text


def test_import_sdwidget_warns_once_for_an_untested_diffusers():
    code = "import diffusers; diffusers.__version__ = '0.43.0'; import sdwidget; sdwidget.versions.warn_if_untested()"
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stderr
    assert err.count("UntestedVersionWarning") == 1 and "python -m sdwidget check" in err, err

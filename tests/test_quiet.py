"""A newcomer's first cell prints nothing sdwidget caused: ``import sdwidget`` and ``demo_pipeline()``
leave stderr empty in a fresh interpreter, and the user's own warnings and logs still show."""

import subprocess
import sys


def stderr_of(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stderr


def test_import_and_demo_pipeline_print_nothing_on_stderr():
    assert stderr_of("import sdwidget; sdwidget.demo_pipeline()") == ""


def test_the_users_own_warnings_and_transformers_logs_still_show():
    code = """
import warnings, sdwidget
from transformers.utils import logging
warnings.warn("mine")
logging.get_logger("transformers.utils.import_utils").warning("theirs, requires torchvision")
logging.get_logger("transformers.models").warning("a model warning")
"""
    err = stderr_of(code)
    assert "UserWarning: mine" in err and "theirs, requires torchvision" in err and "a model warning" in err

"""Load the demo model, and import sdwidget, without the libraries' console noise under a newcomer's first cell."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

# transformers' notice that an image processor falls back to its PIL backend without torchvision,
# logged once the first time diffusers' pipeline modules import CLIPImageProcessor and
# SiglipImageProcessor (only IP-Adapter uses them here, and the PIL backend serves it).
_NOTICE_LOGGER = "transformers.utils.import_utils"


class _NoTorchvisionNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "requires torchvision" not in record.getMessage()


@contextmanager
def no_torchvision_notice() -> Iterator[None]:
    """Drop that one notice while sdwidget imports diffusers' pipelines (``import sdwidget``); the
    user's own imports, and every other message, log as before."""
    logger, notice = logging.getLogger(_NOTICE_LOGGER), _NoTorchvisionNotice()
    logger.addFilter(notice)
    try:
        yield
    finally:
        logger.removeFilter(notice)


@contextmanager
def quiet_loading() -> Iterator[None]:
    """No progress bars for a 10 MB load, and no transformers warning that torchvision is missing
    (only image processors use it; this pipeline has none). The libraries' settings come back after."""
    import diffusers.utils.logging as diffusers_log
    import transformers.utils.logging as transformers_log

    bars = [(log, log.is_progress_bar_enabled()) for log in (diffusers_log, transformers_log)]
    verbosity = transformers_log.get_verbosity()
    for log, _ in bars:
        log.disable_progress_bar()
    transformers_log.set_verbosity_error()
    try:
        yield
    finally:
        transformers_log.set_verbosity(verbosity)
        for log, enabled in bars:
            if enabled:
                log.enable_progress_bar()

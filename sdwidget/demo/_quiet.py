"""Load the demo model without the libraries' console noise under a newcomer's first cell."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


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

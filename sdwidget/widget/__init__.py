"""The notebook side of the widget: traits, browser messages, frame sending, history, saving.

``SamplerWidget`` is one observer of a ``Runner``; its front end is the bundle of ``js/src``
(``frontend``).
"""

from __future__ import annotations

from .widget import SamplerWidget

__all__ = ["SamplerWidget"]

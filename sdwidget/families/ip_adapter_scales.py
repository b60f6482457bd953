"""IP-Adapter scales: the pipe's state a run depends on but is not called with, recorded with
each run (``Family.state``) so a replay can say when they differ (``Family.differences``)."""

from __future__ import annotations

from typing import Any


def scales(pipe: Any) -> list[list[float]] | None:
    """Each IP-Adapter attention processor's scales (``set_ip_adapter_scale``), recorded with a
    run: they are the pipe's state, not an argument, so a replay can only say when they differ."""
    unet = getattr(pipe, "unet", None)
    found = [[float(value) for value in processor.scale] for processor in ip_processors(unet)] if unet else []
    return found or None


def ip_processors(unet: Any) -> list[Any]:
    """The UNet's IP-Adapter attention processors: each keeps one scale per adapter in ``scale``."""
    from diffusers.models.attention_processor import (
        IPAdapterAttnProcessor,
        IPAdapterAttnProcessor2_0,
        IPAdapterXFormersAttnProcessor,
    )

    kinds = (IPAdapterAttnProcessor, IPAdapterAttnProcessor2_0, IPAdapterXFormersAttnProcessor)
    return [processor for processor in unet.attn_processors.values() if isinstance(processor, kinds)]


def difference(recorded: list[list[float]] | None, pipe: Any) -> str | None:
    """Why a replay of a run recorded with IP-Adapter scales ``recorded`` differs on ``pipe``, or ``None``."""
    now = scales(pipe)
    if recorded == now:
        return None
    return (
        f"the run was recorded with IP-Adapter scales {_brief(recorded)}, this pipeline's are {_brief(now)}; "
        "call pipe.set_ip_adapter_scale(...) as for the run, or the replay will not match the recorded image"
    )


def _brief(scales: list[list[float]] | None) -> str:
    """Scales as a person set them: one list when every layer has the same (``set_ip_adapter_scale(0.6)``)."""
    if not scales:
        return "none (no adapter)"
    return str(scales[0]) if all(scale == scales[0] for scale in scales) else f"{scales[0]}, ... (per layer)"

"""IP-Adapter image embeddings kept in step with classifier-free guidance switched mid-run.

The SD and SDXL pipelines (text-to-image, img2img, inpainting, ControlNet) encode the adapter
images once, before the loop, as ``[negative, positive]`` when their first step runs CFG, and
hand them to the UNet in ``added_cond_kwargs["image_embeds"]`` at every step; step callbacks
never see them, so a switch of CFG leaves them with the wrong batch size. Here both halves are
encoded before the call with the pipeline's own ``prepare_ip_adapter_image_embeds``, passed in
as ``ip_adapter_image_embeds`` in the layout of the first step, and the UNet's ``forward`` is
wrapped for the call so that every step gets the rows its sample has: both halves for a doubled
batch, the positive half otherwise. These are the pipeline's own tensors, so a run that never
switches is the bare pipeline's, bit for bit.
"""

from __future__ import annotations

from typing import Any

import torch

from .ip_adapter_scales import ip_processors
from .rows import batch_rows
from .wrap import swap_forward

NAMES = ("ip_adapter_image", "ip_adapter_image_embeds")


def adapters(pipe: Any) -> int:
    """How many IP-Adapters the pipeline's UNet has loaded."""
    unet: Any = getattr(pipe, "unet", None)
    if getattr(getattr(unet, "config", None), "encoder_hid_dim_type", None) != "ip_image_proj":
        return 0
    return len(unet.encoder_hid_proj.image_projection_layers)


def check(pipe: Any, pipe_kwargs: dict[str, Any]) -> None:
    """Refuse in the caller's thread what would fail inside the run."""
    name, loaded = type(pipe).__name__, adapters(pipe)
    given = [arg for arg in NAMES if pipe_kwargs.get(arg) is not None]
    if loaded and not given:
        raise ValueError(
            f"{name} has {loaded} IP-Adapter(s) loaded, so its UNet needs image embeddings: pass "
            "ip_adapter_image=... (one image per adapter) or ip_adapter_image_embeds=..., or call "
            "pipe.unload_ip_adapter() first"
        )
    if not given:
        return
    if not loaded:
        raise ValueError(f"{given[0]} was passed but {name} has no IP-Adapter loaded: pipe.load_ip_adapter(...) first")
    if len(given) > 1:
        raise ValueError("pass ip_adapter_image or ip_adapter_image_embeds, not both")
    value = pipe_kwargs[given[0]]
    if given[0] == "ip_adapter_image":
        count = len(value) if isinstance(value, list) else 1
        if count != loaded:
            raise ValueError(
                f"ip_adapter_image must be one image (or list of images) per adapter: {loaded}, got {count}"
            )
        if getattr(pipe, "image_encoder", None) is None or getattr(pipe, "feature_extractor", None) is None:
            raise ValueError(
                f"{name} has no image_encoder and feature_extractor to encode ip_adapter_image: load the adapter "
                "with its image encoder, or pass ip_adapter_image_embeds"
            )
        return
    if not isinstance(value, list) or not all(isinstance(embed, torch.Tensor) for embed in value):
        raise TypeError(
            f"ip_adapter_image_embeds must be a list of tensors, one per adapter, got {type(value).__name__}"
        )
    if len(value) != loaded or any(embed.ndim not in (3, 4) or embed.shape[0] != 2 for embed in value):
        raise ValueError(
            f"ip_adapter_image_embeds must hold one tensor per adapter ({loaded}), each 3-D or 4-D with 2 rows "
            "[negative, positive] whatever the guidance, as pipe.prepare_ip_adapter_image_embeds(image, None, "
            "device, 1, True) returns them: guidance may cross 1.0 during the run"
        )


class IPAdapterEmbeds:
    """Around one pipeline call: ``pipe_kwargs`` is what to call it with. A no-op for a run with no
    IP-Adapter input. The adapters' scales are put back on exit, so a callback that changes them
    (``IPAdapterScaleCutoffCallback``) acts on its own run only and branches and replays start alike."""

    def __init__(self, pipe: Any, params: dict[str, Any], pipe_kwargs: dict[str, Any]) -> None:
        self.pipe, self.pipe_kwargs, self.guidance = pipe, pipe_kwargs, params["guidance_scale"]
        self.needed = any(pipe_kwargs.get(arg) is not None for arg in NAMES)
        # The pipeline's batch: one row per prompt and image, as it repeats the embeddings.
        self.batch = batch_rows(params["prompt"], pipe_kwargs)

    def __enter__(self) -> IPAdapterEmbeds:
        if not self.needed:
            return self
        pipe, kwargs = self.pipe, self.pipe_kwargs
        device = pipe._execution_device
        with torch.no_grad():
            # One row per half, as the pipeline's own argument; then both halves for the batch, as it builds them.
            single = pipe.prepare_ip_adapter_image_embeds(
                kwargs.get("ip_adapter_image"), kwargs.get("ip_adapter_image_embeds"), device, 1, True
            )
            both = pipe.prepare_ip_adapter_image_embeds(None, single, device, self.batch, True)
        positive = [embeds.chunk(2)[1] for embeds in both]
        pipe._guidance_scale = self.guidance  # as the call sets it first: whether its first step runs CFG
        first = single if pipe.do_classifier_free_guidance else [embeds.chunk(2)[1] for embeds in single]
        self.pipe_kwargs = {
            **{arg: value for arg, value in kwargs.items() if arg not in NAMES},
            "ip_adapter_image_embeds": first,
        }
        self._scales = [(processor, list(processor.scale)) for processor in ip_processors(pipe.unet)]
        unet, doubled_rows = pipe.unet, 2 * self.batch
        original = unet.forward

        def forward(*args: Any, **kw: Any) -> Any:
            added = kw.get("added_cond_kwargs")
            if added is not None and "image_embeds" in added:
                sample = args[0] if args else kw["sample"]
                image_embeds = both if sample.shape[0] == doubled_rows else positive
                kw["added_cond_kwargs"] = {**added, "image_embeds": image_embeds}
            return original(*args, **kw)

        self._undo = swap_forward(unet, forward)
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.needed:
            return
        for processor, scale in self._scales:
            processor.scale[:] = scale
        self._undo()

"""SDXL's modular pipeline (``StableDiffusionXLModularPipeline``), text to image, steered through
its guider: checked against the pipeline's own output and a reference loop in
tests/test_modular.py."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Collection, Iterator
from functools import partial
from typing import Any

import torch
from diffusers.modular_pipelines import ModularPipeline
from diffusers.modular_pipelines.stable_diffusion_xl.encoders import StableDiffusionXLTextEncoderStep

from ..protocol import Embeddings, Knob, OutputTap, Steering
from . import guiders
from .loop import PROMPT_TENSORS, GuiderSwitch, Stopped, View, denoise_loops, inserted
from .swap import GuiderSwap, unchecked

PIPELINES = ("StableDiffusionXLModularPipeline",)
"""The modular pipelines steered: each one's blocks and guider loop read and checked."""


class ModularStableDiffusionXL(GuiderSwap):  # its guider swapped between runs (Runner.set_guider)
    scale_arguments = ()
    dropped = ()

    def __init__(self, pipe: Any) -> None:
        self.pipe, self.denoiser = pipe, pipe.unet
        self._decoder: Any = None

    @classmethod
    def matches(cls, pipe: Any) -> bool:
        return isinstance(pipe, ModularPipeline)

    @classmethod
    def refusal(cls, pipe: Any) -> str | None:
        name, guider = type(pipe).__name__, pipe.components.get("guider")
        if name not in PIPELINES:
            return (
                f"{name} is a modular pipeline sdwidget has not checked; it steers the modular {', '.join(PIPELINES)}"
            )
        if unchecked(guider):
            return f"{name}'s {unchecked(guider)}"
        if "text_encoder" not in pipe._blocks.sub_blocks or not list(denoise_loops(pipe._blocks)):
            return f"{name}'s blocks have no text_encoder block or no denoise loop, which steering works through"
        return None

    def knobs(self) -> list[Knob]:
        return guiders.knobs(self.pipe.guider)

    def arguments(self) -> Collection[str]:
        """Text to image only: the number of images, and each knob after the scale by name."""
        return {"num_images_per_prompt", *(knob.name for knob in self.knobs()[1:])}

    def check(self, pipe_kwargs: dict[str, Any]) -> None:
        """Nothing besides ``arguments``: each knob's value is checked as a knob."""

    def check_start(self, pipe_kwargs: dict[str, Any], guidance: float) -> None:
        """Any start: the guider decides at every step how many predictions it needs."""

    def size_multiple(self) -> int:
        return int(self.pipe.vae_scale_factor)

    def state(self) -> dict[str, Any]:
        guider = self.pipe.guider
        return {
            "guider": type(guider).__name__,
            "guider_config": json.loads(json.dumps(dict(guider.config), default=str)),
        }

    def differences(self, recorded: dict[str, Any]) -> list[str]:
        was, now = recorded.get("guider"), type(self.pipe.guider).__name__
        if was is None or was == now:
            return []
        return [f"the run was recorded with the guider {was}, this pipeline's is {now}; the replay will differ"]

    @torch.no_grad()
    def encode(self, prompt: str | list[str], negative_prompt: Any, options: dict[str, Any]) -> Embeddings:
        """Both halves, one row per prompt, by the text encoder block's own code."""
        cond, uncond, pooled, uncond_pooled = StableDiffusionXLTextEncoderStep.encode_prompt(
            self.pipe, prompt, device=self.pipe._execution_device, num_images_per_prompt=1,
            prepare_unconditional_embeds=True, negative_prompt=negative_prompt,
        )  # fmt: skip
        call = dict(zip(PROMPT_TENSORS, (cond, uncond, pooled, uncond_pooled), strict=True))
        return Embeddings(
            call, {"prompt_embeds": cond, "pooled_prompt_embeds": pooled},
            {"prompt_embeds": uncond, "pooled_prompt_embeds": uncond_pooled},
        )  # fmt: skip

    @contextlib.contextmanager
    def steer(
        self, params: dict[str, Any], pipe_kwargs: dict[str, Any], embeddings: Embeddings, tap: OutputTap
    ) -> Iterator[Steering]:
        """The guider's settings are the run's for its length and the user's again after it."""
        guider, names = self.pipe.guider, [knob.name for knob in self.knobs()]
        saved = {name: guiders.value(guider, name) for name in names}
        try:
            with tap(0) as outputs:
                invoke, no_lens = partial(self._invoke, outputs, names[1:]), guiders.NO_LENS[type(guider).__name__]
                yield Steering(GuiderSwitch(guider), {**embeddings.call, **pipe_kwargs}, invoke, no_lens=no_lens)
        finally:
            for name, value in saved.items():
                guiders.put(guider, name, value)

    def _invoke(
        self, outputs: Any, later: list[str], *, num_inference_steps: int, guidance_scale: float, height: int,
        width: int, generator: torch.Generator, callback_on_step_end: Any, callback_on_step_end_tensor_inputs: Any,
        **call: Any,
    ) -> list[Any]:  # fmt: skip
        guider = self.pipe.guider
        guider.guidance_scale = guidance_scale
        for name in later:
            if name in call:
                guiders.put(guider, name, call.pop(name))
        step = partial(_step, outputs, View(guider), callback_on_step_end)
        try:
            # The blocks the pipeline runs: ``pipe.blocks`` is a copy. One run at a time per pipeline
            # (the runner's), and they are put back as they were after the call.
            with inserted(self.pipe._blocks, step, "text_encoder"):
                return self.pipe(
                    **call, num_inference_steps=num_inference_steps, height=height, width=width, generator=generator,
                    output="images",
                )  # fmt: skip
        except Stopped as stop:
            return self._decode(stop.latents)

    def _decode(self, latents: torch.Tensor) -> list[Any]:
        """A stopped run's latents through the pipeline's own decode block."""
        if self._decoder is None:
            self._decoder = self.pipe._blocks.sub_blocks["decode"].init_pipeline()
            self._decoder.update_components(vae=self.pipe.vae)
        return self._decoder(latents=latents, output="images")

    def image_view(self, height: int, width: int) -> Callable[[torch.Tensor], torch.Tensor]:
        return lambda latents: latents


def _step(outputs: Any, view: View, callback: Any, components: Any, state: Any, i: int, t: Any) -> None:
    """The end of step ``i``: its denoiser outputs kept, then the step hook, as a step callback."""
    outputs.end_step()
    view.num_timesteps = len(state.timesteps)
    kwargs = callback(view, i, t, {"latents": state.latents, **{n: getattr(state, n, None) for n in PROMPT_TENSORS}})
    state.latents = kwargs["latents"]
    for name in PROMPT_TENSORS:
        setattr(state, name, kwargs[name])
    if view._interrupt:
        raise Stopped(kwargs["latents"])

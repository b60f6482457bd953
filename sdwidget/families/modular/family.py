"""What every modular family shares: which pipelines it takes, the call with a block inserted in
the denoise loop (``loop.py``), a stopped run's decode. A family adds how its prompt is encoded
and its ``switch``: what the knobs are and where the loop reads them (a guider's attributes,
``guided.py``; a distilled guidance tensor in the block state, ``flux.py``)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterator
from functools import partial
from typing import Any

import torch
from diffusers.modular_pipelines import ModularPipeline

from ..steering import Embeddings, Knob, OutputTap, Steering
from .loop import Stopped, View, denoise_loops, inserted, step


class ModularLoops:
    """A modular family, text to image: the pipeline's own blocks called with the prompt encoded by
    the family (its text encoder block taken out for the call) and ``step`` inserted last in its
    denoise loop. The denoiser's outputs are kept call by call (``tap(0)``), as a guider asks for
    one to three predictions a step."""

    pipelines: tuple[str, ...] = ()
    """The modular pipeline classes steered, by name: each one's blocks read and checked."""
    scale_arguments = ()
    dropped = ()

    def __init__(self, pipe: Any) -> None:
        self.pipe = pipe
        self.denoiser = pipe.unet if getattr(pipe, "unet", None) is not None else pipe.transformer
        self._decoder: Any = None

    @classmethod
    def matches(cls, pipe: Any) -> bool:
        return isinstance(pipe, ModularPipeline) and type(pipe).__name__ in cls.pipelines

    @classmethod
    def refusal(cls, pipe: Any) -> str | None:
        if "text_encoder" not in pipe._blocks.sub_blocks or not list(denoise_loops(pipe._blocks)):
            return (
                f"{type(pipe).__name__}'s blocks have no text_encoder block or no denoise loop, which steering "
                "works through"
            )
        return cls.unsteerable(pipe)

    @classmethod
    def unsteerable(cls, pipe: Any) -> str | None:
        """The family's own reason to refuse ``pipe`` (its guider, its transformer), or ``None``."""
        return None

    def knobs(self) -> list[Knob]:
        raise NotImplementedError

    def switch(self) -> Any:
        """A run's switch: the protocol's ``Switch``, plus ``begin(guidance, call)`` (the first
        settings; returns arguments to add to the call), ``scale()`` (the next step's guidance) and
        ``after(block_state)`` (what the hook set, put where the loop reads it)."""
        raise NotImplementedError

    def no_lens(self) -> str:
        """Why there is no free guidance lens, in words."""
        raise NotImplementedError

    def arguments(self) -> Collection[str]:
        """Text to image only: the number of images, and each knob after the guidance by name."""
        return {"num_images_per_prompt", *(knob.name for knob in self.knobs()[1:])}

    def check(self, pipe_kwargs: dict[str, Any]) -> None:
        """Nothing besides ``arguments``: each knob's value is checked as a knob."""

    def check_start(self, pipe_kwargs: dict[str, Any], guidance: float) -> None:
        """Any start: the loop reads the guidance afresh at every step."""

    def size_multiple(self) -> int:
        return int(self.pipe.vae_scale_factor)

    def state(self) -> dict[str, Any]:
        return {}

    def differences(self, recorded: dict[str, Any]) -> list[str]:
        return []

    def encode(self, prompt: str | list[str], negative_prompt: Any, options: dict[str, Any]) -> Embeddings:
        raise NotImplementedError

    @contextlib.contextmanager
    def steer(
        self, params: dict[str, Any], pipe_kwargs: dict[str, Any], embeddings: Embeddings, tap: OutputTap
    ) -> Iterator[Steering]:
        with tap(0) as outputs:
            switch = self.switch()
            invoke = partial(self._invoke, outputs, switch)
            yield Steering(switch, {**embeddings.call, **pipe_kwargs}, invoke, no_lens=self.no_lens())

    def _invoke(
        self, outputs: Any, switch: Any, *, num_inference_steps: int, guidance_scale: float, height: int,
        width: int, generator: torch.Generator, callback_on_step_end: Any, callback_on_step_end_tensor_inputs: Any,
        **call: Any,
    ) -> list[Any]:  # fmt: skip
        added = switch.begin(guidance_scale, call)
        fn = partial(step, outputs, View(switch.scale), callback_on_step_end, switch.names, switch.after)
        try:
            # The blocks the pipeline runs: ``pipe.blocks`` is a copy. One run at a time per pipeline
            # (the runner's), and they are put back as they were after the call.
            with inserted(self.pipe._blocks, fn, "text_encoder"):
                return self.pipe(
                    **call, **added, num_inference_steps=num_inference_steps, height=height, width=width,
                    generator=generator, output="images",
                )  # fmt: skip
        except Stopped as stop:
            return self._decode(self.image_view(height, width)(stop.latents))

    def _decode(self, latents: torch.Tensor) -> list[Any]:
        """A stopped run's latents (as an image, ``image_view``) through the pipeline's own decode block."""
        if self._decoder is None:
            self._decoder = self.pipe._blocks.sub_blocks["decode"].init_pipeline()
            self._decoder.update_components(vae=self.pipe.vae)
        return self._decoder(latents=latents, output="images")

    def image_view(self, height: int, width: int) -> Callable[[torch.Tensor], torch.Tensor]:
        return lambda latents: latents


class Unchecked(ModularLoops):
    """Any other modular pipeline: refused with the ones steered (``steered``, set by the package)."""

    steered: tuple[str, ...] = ()

    @classmethod
    def matches(cls, pipe: Any) -> bool:
        return isinstance(pipe, ModularPipeline)

    @classmethod
    def refusal(cls, pipe: Any) -> str | None:
        return (
            f"{type(pipe).__name__} is a modular pipeline sdwidget has not checked; it steers the modular "
            f"{', '.join(cls.steered)}"
        )

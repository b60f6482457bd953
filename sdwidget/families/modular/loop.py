"""Steering a modular pipeline's denoise loop from blocks inserted into it.

A modular pipeline's denoise step is a ``LoopSequentialPipelineBlocks``: each iteration runs its
sub-blocks (before denoiser, denoiser, after denoiser) on one ``block_state``. For the length of
one call a block is inserted last, ``sdwidget_step``, which hands each step to the step hook as
diffusers' step callbacks get it (``latents`` and the prompt tensors by name) and writes back
what it changed; and the pipeline's own text encoder block is taken out, so the call takes both
halves of the prompt as the family encoded them (whatever guidance the run starts at: the
encoder block would leave the unconditional half out at a scale of 1.0). A stop ends the loop by
``Stopped``, carrying the latents the hook left (the last x0 estimate), which the caller decodes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from diffusers.modular_pipelines import LoopSequentialPipelineBlocks, ModularPipelineBlocks

from . import guiders

# What the step hook sees besides the latents: the tensors a prompt edit swaps.
PROMPT_TENSORS = ("prompt_embeds", "negative_prompt_embeds", "pooled_prompt_embeds", "negative_pooled_prompt_embeds")


class Stopped(Exception):
    """The run was stopped at a step boundary; ``latents`` are what the hook left to decode."""

    def __init__(self, latents: Any) -> None:
        super().__init__("stopped")
        self.latents = latents


class View:
    """What the step hook reads off "the pipeline": the guider's scale and a stop flag."""

    def __init__(self, guider: Any) -> None:
        self.guider = guider
        self._interrupt = False
        self.num_timesteps = 0

    @property
    def guidance_scale(self) -> float:
        return float(self.guider.guidance_scale)

    @property
    def _guidance_scale(self) -> float:
        return self.guidance_scale


class _Block(ModularPipelineBlocks):
    """One inserted sub-block: calls ``fn(components, block_state, i, t)`` at every iteration."""

    def __init__(self, fn: Callable[..., None]) -> None:
        super().__init__()
        self.fn = fn

    @property
    def inputs(self) -> list[Any]:
        return []

    def __call__(self, components: Any, block_state: Any, i: int, t: Any) -> tuple[Any, Any]:
        self.fn(components, block_state, i, t)
        return components, block_state


def denoise_loops(blocks: Any) -> Iterator[LoopSequentialPipelineBlocks]:
    """Every denoise loop among ``blocks``' sub-blocks, however deeply nested."""
    for block in getattr(blocks, "sub_blocks", {}).values():
        if isinstance(block, LoopSequentialPipelineBlocks):
            yield block
        else:
            yield from denoise_loops(block)


@contextmanager
def inserted(blocks: Any, step: Callable[..., None], encoder: str) -> Iterator[None]:
    """``step`` last in every denoise loop, and the top-level block ``encoder`` out, for a call."""
    loops = list(denoise_loops(blocks))
    names = list(blocks.sub_blocks)
    taken = blocks.sub_blocks.pop(encoder)
    try:
        for loop in loops:
            loop.sub_blocks["sdwidget_step"] = _Block(step)
        yield
    finally:
        blocks.sub_blocks.insert(encoder, taken, names.index(encoder))
        for loop in loops:
            loop.sub_blocks.pop("sdwidget_step", None)


class GuiderSwitch:
    """The step hook's switch: knob values go onto the guider, a prompt edit into the block state.
    The guider decides each step how many predictions it needs, so CFG going off and on needs
    nothing more than its scale."""

    names = list(PROMPT_TENSORS)

    def __init__(self, guider: Any) -> None:
        self.guider = guider

    def active(self, pipe: Any) -> bool:
        """Whether the step that just ran combined more than one prediction."""
        return self.guider.num_conditions > 1

    def apply(self, pipe: Any, kwargs: dict, batch: int, value: float) -> None:
        self.guider.guidance_scale = value

    def value(self, pipe: Any, name: str) -> float:
        return guiders.value(self.guider, name)

    def set(self, pipe: Any, name: str, value: float) -> None:
        guiders.put(self.guider, name, value)

    def swap_prompt(self, kwargs: dict, batch: int, embeddings: Any, negative: bool) -> None:
        halves = [("", embeddings.cond)] + ([("negative_", embeddings.uncond)] if negative else [])
        for prefix, half in halves:
            for name, tensor in half.items():
                key = prefix + name
                if kwargs.get(key) is not None:
                    rows = kwargs[key].shape[0]
                    kwargs[key] = tensor.to(kwargs[key].device).repeat_interleave(rows // tensor.shape[0], dim=0)

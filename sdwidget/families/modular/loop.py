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

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from diffusers.modular_pipelines import LoopSequentialPipelineBlocks, ModularPipelineBlocks

# What the step hook sees besides the latents: the tensors a prompt edit swaps.
PROMPT_TENSORS = ("prompt_embeds", "negative_prompt_embeds", "pooled_prompt_embeds", "negative_pooled_prompt_embeds")


class Stopped(Exception):
    """The run was stopped at a step boundary; ``latents`` are what the hook left to decode."""

    def __init__(self, latents: Any) -> None:
        super().__init__("stopped")
        self.latents = latents


class View:
    """What the step hook reads off "the pipeline": the guidance the next step runs with (``scale``
    reads it: a guider's scale, a distilled value) and a stop flag."""

    def __init__(self, scale: Callable[[], float]) -> None:
        self.scale = scale
        self._interrupt = False
        self.num_timesteps = 0

    @property
    def guidance_scale(self) -> float:
        return float(self.scale())

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


def step(
    outputs: Any, view: View, callback: Any, names: Sequence[str], after: Callable[[Any], None], components: Any,
    state: Any, i: int, t: Any,
) -> None:  # fmt: skip
    """The end of step ``i`` (the inserted block's ``fn``): its denoiser outputs kept, then the step
    hook, as a step callback with ``latents`` and the tensors ``names``, written back into the block
    state; ``after`` then puts what the hook set that the loop keeps elsewhere (a distilled guidance)."""
    outputs.end_step()
    view.num_timesteps = len(state.timesteps)
    kwargs = callback(view, i, t, {"latents": state.latents, **{n: getattr(state, n, None) for n in names}})
    state.latents = kwargs["latents"]
    for name in names:
        setattr(state, name, kwargs[name])
    after(state)
    if view._interrupt:
        raise Stopped(kwargs["latents"])


def swap_prompt(kwargs: dict, embeddings: Any, negative: bool) -> None:
    """A prompt edit into the step's tensors that the loop has, each half's rows repeated as the
    loop's (``num_images_per_prompt``)."""
    halves = [("", embeddings.cond)] + ([("negative_", embeddings.uncond)] if negative else [])
    for prefix, half in halves:
        for name, tensor in half.items():
            key = prefix + name
            if kwargs.get(key) is not None:
                rows = kwargs[key].shape[0]
                kwargs[key] = tensor.to(kwargs[key].device).repeat_interleave(rows // tensor.shape[0], dim=0)

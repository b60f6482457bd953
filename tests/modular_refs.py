"""What the modular pipelines' oracle tests share (tests/test_modular*.py).

The reference side is diffusers alone: ``reference`` calls the modular pipeline itself with a block
written in the tests (``SetAt`` here, or a test file's own) inserted first in its denoise loop, as
diffusers' blocks API allows. No sdwidget code there. ``steered`` is the other side: the same call
through a ``Runner``, with changes made by hand at given steps.
"""

import torch
from conftest import at_step
from diffusers.modular_pipelines import LoopSequentialPipelineBlocks, ModularPipelineBlocks

from sdwidget import Runner, RunStatus

SEED, SIZE = 3, 32
PROMPT, NEGATIVE, EDIT = "a red star", "blurry", "a green cube"
MOMENTUM = "adaptive_projected_guidance_momentum"


class SetAt(ModularPipelineBlocks):
    """At the start of step i, the guider attributes (and prompt tensors) given for i."""

    model_name = "stable-diffusion-xl"

    def __init__(self, changes):
        super().__init__()
        self.changes = changes

    @property
    def inputs(self):
        return []

    def __call__(self, components, block_state, i, t):
        for name, value in self.changes.get(i, {}).items():
            if name.endswith("prompt_embeds"):
                setattr(block_state, name, value)
                continue
            setattr(components.guider, name, value)
            if name == MOMENTUM and components.guider.momentum_buffer is not None:
                components.guider.momentum_buffer.momentum = value
        return components, block_state


def loops(blocks):
    for block in getattr(blocks, "sub_blocks", {}).values():
        yield from [block] if isinstance(block, LoopSequentialPipelineBlocks) else loops(block)


def reference(pipe, block, **kwargs):
    """The pipeline's own latents for ``PROMPT`` at ``SEED`` and ``SIZE``, ``block`` inserted first in
    its denoise loop; its guider, if it has one, gets back the settings the block changed."""
    for loop in loops(pipe._blocks):  # the blocks the pipeline runs (pipe.blocks is a copy)
        loop.sub_blocks.insert("test_set", block, 0)
    # A guider keeps what the block set, and its interval decides the encoding.
    guider = getattr(pipe, "guider", None)  # modular Flux's blocks have none
    settings = None if guider is None else dict(vars(guider))
    try:
        return pipe(
            prompt=PROMPT, height=SIZE, width=SIZE, generator=torch.Generator().manual_seed(SEED), output="latents",
            **kwargs,
        )  # fmt: skip
    finally:
        if settings is not None:
            pipe.guider.__dict__.update(settings)
        for loop in loops(pipe._blocks):
            loop.sub_blocks.pop("test_set")


def steered(pipe, changes=(), **kwargs):
    """A runner and its finished run of ``pipe`` for ``PROMPT`` at ``SEED`` and ``SIZE``, each
    ``(step, action)`` of ``changes`` made by hand once that step is recorded."""
    runner = Runner(pipe, cpu_threads=torch.get_num_threads())
    for step, action in changes:
        at_step(runner, step, action)
    run = runner.generate(PROMPT, seed=SEED, height=SIZE, width=SIZE, **kwargs)
    assert run.status is RunStatus.FINISHED, run.traceback
    return runner, run


def guidance(value):
    return lambda run: run.set_guidance(value)

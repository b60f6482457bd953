"""Z-Image, text-to-image, checked against references in tests/test_family_z_image.py.

- Its guidance is CFG as Z-Image mixes it, ``pos + g × (pos − neg)``: off at 0 (one row an image,
  the prompt alone), on above 0 (``g = 1`` already pushes one step away from the negative prompt),
  read by the pipeline at every step, so it crosses 0 both ways (``ZImageSteer``).
- ``cfg_normalization`` (a cap on the guided output's norm) is read at every CFG step: steered as
  the pipeline runs it. ``cfg_truncation`` (CFG off past that share of the schedule) is set up once,
  before the first step, and only where CFG is on then: a run that starts at 0 and turns CFG on
  later would run without the cutoff it asked for, so a cutoff below 1 is refused for it.
- A guidance lens mixes a step's kept halves as its loop does, normalisation included (``ZImageParts``).
- Its encoder returns a list, each prompt's own tokens: ``encode`` keeps them padded with their
  mask (tensors, as every family's), and the call and prompt edits give the loop its lists.
- Its latents are ``(batch, 16, h, w)``, Flux.1's VAE's; sides are multiples of one 2×2 patch, and
  1024 px unless given (its ``__call__``'s default, set as ``pipe.default_sample_size``).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.nn.utils.rnn import pad_sequence

from .encode import options_for
from .rows import batch_rows
from .steering import Embeddings, Knob, OutputTap, Steering
from .transformer import TransformerLoops
from .unet import unchanged
from .z_image_steer import ListStep, ZImageParts, ZImageSteer, as_list

MEANING = (
    "Classifier-free guidance as Z-Image mixes it, prompt + g × (prompt − negative): how far each step is pushed "
    "beyond the prompt, away from the negative one; at 0 it is off and a step costs one transformer pass"
)


class ZImage(TransformerLoops):
    loops = ("ZImagePipeline",)

    def __init__(self, pipe: Any) -> None:
        super().__init__(pipe)
        self.denoiser = ListStep()  # the tap keeps the transformer's list output, stacked as its scheduler takes it
        if getattr(pipe, "default_sample_size", None) is None:
            # Its own default size, 1024 px, is in its __call__; the engine reads it where newer pipelines keep it.
            pipe.default_sample_size = 1024 // pipe.vae_scale_factor

    def default(self, name: str) -> Any:
        """The pipeline's own default for its argument ``name``."""
        return inspect.signature(type(self.pipe).__call__).parameters[name].default

    def knobs(self) -> list[Knob]:
        return [
            Knob("guidance_scale", "cfg", default=float(self.default("guidance_scale")), off_at=0.0, meaning=MEANING)
        ]

    def check_start(self, pipe_kwargs: dict[str, Any], guidance: float) -> None:
        cutoff = pipe_kwargs.get("cfg_truncation")
        if guidance <= 0 and cutoff is not None and float(cutoff) < 1:
            raise ValueError(
                f"{type(self.pipe).__name__}: cfg_truncation={cutoff!r} with guidance starting at {guidance}: the "
                "pipeline sets its CFG cutoff up once, before the first step, and only where CFG is on then, so a "
                "run turning CFG on later would have none; start with guidance above 0, or leave cfg_truncation out"
            )

    def size_multiple(self) -> int:
        return int(self.pipe.vae_scale_factor * 2)

    @torch.no_grad()
    def encode(self, prompt: str | list[str], negative_prompt: Any, options: dict[str, Any]) -> Embeddings:
        """Both halves padded, with the mask of each prompt's own tokens (the negative, empty unless given)."""
        # encode_prompt writes each prompt's chat form into the list it is given: a copy of ours.
        texts = list(prompt) if isinstance(prompt, list) else prompt
        negative = list(negative_prompt) if isinstance(negative_prompt, list) else negative_prompt
        cond, uncond = self.pipe.encode_prompt(
            prompt=texts, negative_prompt=negative, device=self.pipe._execution_device,
            do_classifier_free_guidance=True, **options_for(self.pipe, options),
        )  # fmt: skip
        halves = [_padded(embeds) for embeds in (cond, uncond)]
        call = {"prompt_embeds": halves[0]["prompt_embeds"], "negative_prompt_embeds": halves[1]["prompt_embeds"]}
        return Embeddings(call, *halves)

    def call(self, embeddings: Embeddings, pipe_kwargs: dict[str, Any], prompt: Any) -> dict[str, Any]:
        """The pipeline's lists, one entry per image; it skips its own encoding with both given."""
        rows = batch_rows(prompt, pipe_kwargs)
        lists = {"prompt_embeds": as_list(embeddings.cond, rows),
                 "negative_prompt_embeds": as_list(embeddings.uncond, rows)}  # fmt: skip
        return {**lists, **pipe_kwargs, "num_images_per_prompt": 1}

    @contextlib.contextmanager
    def steer(
        self, params: dict[str, Any], pipe_kwargs: dict[str, Any], embeddings: Embeddings, tap: OutputTap
    ) -> Iterator[Steering]:
        rows = batch_rows(params["prompt"], pipe_kwargs)
        assert isinstance(self.denoiser, ListStep)
        normalization = pipe_kwargs.get("cfg_normalization", self.default("cfg_normalization"))
        # The tap wraps the step inside the transformer wrapper: it keeps one stacked output a step.
        with ZImageSteer(self.pipe, self.denoiser, rows) as steer, tap(1):
            call = self.call(embeddings, pipe_kwargs, params["prompt"])
            yield Steering(steer, call, parts=ZImageParts(normalization))

    def image_view(self, height: int, width: int) -> Callable[[torch.Tensor], torch.Tensor]:
        return unchanged


def _padded(embeds: list[torch.Tensor]) -> dict[str, torch.Tensor]:
    """A list of ``(tokens, width)`` as one padded tensor and the mask of the tokens that count."""
    mask = pad_sequence([torch.ones(len(e), dtype=torch.bool, device=e.device) for e in embeds], batch_first=True)
    return {"prompt_embeds": pad_sequence(embeds, batch_first=True), "prompt_embeds_mask": mask}

"""FLUX.2 [dev], text-to-image, checked against references in tests/test_family_flux2_dev.py.

- Its guidance is distilled: the transformer takes the guidance value as an input (its
  ``guidance_embeds``), one pass a step whatever the value, with no negative prompt and no value
  at which it is off. ``Flux2Pipeline.__call__`` builds that input once, before its loop, as a local
  tensor (``guidance``) no step callback reaches: ``DevSteer`` replaces it at every transformer
  call by the current ``pipe.guidance_scale``, as the pipeline would have built it.
- A prompt edit swaps the loop's ``prompt_embeds``, which it takes back from step callbacks. Its
  text ids, a local too, depend on the embeddings' length alone, the same for every prompt of a run
  (each padded to ``max_sequence_length``).
- Refused, with the reason: a transformer without a guidance embedding (the pipeline then runs no
  guidance at all), a negative prompt (the pipeline has none: it would change nothing), and
  ``caption_upsample_temperature`` (the pipeline rewrites the prompt by sampling from its text
  encoder before encoding it; the run encodes its prompts itself, edits included). Reference images
  (``image``) are not passed, as on [klein] (``flux2.py``).
- Its latents are [klein]'s: packed tokens of the VAE's normalised 2×2 patches (``flux2_view``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
from collections.abc import Iterator
from typing import Any

import torch

from .flux import DISTILLED
from .flux2 import Flux2Loops
from .recall import CallRecord
from .rows import fit
from .steering import Embeddings, Knob, OneKnob, OutputTap, Steering
from .wrap import swap_forward


class Flux2Dev(Flux2Loops):
    loops = ("Flux2Pipeline",)

    @classmethod
    def refusal(cls, pipe: Any) -> str | None:
        if pipe.transformer.config.guidance_embeds:
            return None
        return (
            f"{type(pipe).__name__}'s transformer has no guidance embedding (guidance_embeds=False): the pipeline "
            "runs no guidance whatever guidance_scale is, so there is no guidance to steer; sdwidget steers "
            "FLUX.2 [dev]'s distilled guidance"
        )

    def knobs(self) -> list[Knob]:
        default = inspect.signature(type(self.pipe).__call__).parameters["guidance_scale"].default
        return [dataclasses.replace(DISTILLED, default=float(default))]

    def check(self, pipe_kwargs: dict[str, Any]) -> None:
        super().check(pipe_kwargs)
        if pipe_kwargs.get("caption_upsample_temperature"):
            raise TypeError(
                f"{type(self.pipe).__name__}: caption_upsample_temperature cannot be steered: the pipeline rewrites "
                "the prompt by sampling from its text encoder before encoding it, and sdwidget encodes each prompt "
                "of a run itself (edits, replays and branches too); rewrite it first with pipe.upsample_prompt(...) "
                "and start the run with the result"
            )

    @torch.no_grad()
    def encode(self, prompt: str | list[str], negative_prompt: Any, options: dict[str, Any]) -> Embeddings:
        """The prompt alone, with the run's encoder options; ``ValueError`` for a negative prompt."""
        if negative_prompt is not None:
            raise ValueError(
                f"{type(self.pipe).__name__} has no negative prompt: FLUX.2 [dev]'s guidance is distilled, one "
                "transformer pass on the prompt alone, so a negative prompt would change nothing; leave it out"
            )
        device = self.pipe._execution_device
        cond, _ = self.pipe.encode_prompt(
            prompt=prompt, device=device, num_images_per_prompt=1, **self.encoder_options(options)
        )
        return Embeddings({"prompt_embeds": cond}, {"prompt_embeds": cond}, {})

    @contextlib.contextmanager
    def steer(
        self, params: dict[str, Any], pipe_kwargs: dict[str, Any], embeddings: Embeddings, tap: OutputTap
    ) -> Iterator[Steering]:
        # Read before the tap and the steer wrap it: a paid lens's calls are no step's.
        record = CallRecord(self.pipe.transformer.forward, lambda made: made[0])
        # The steer wraps the tap: it sees (and keeps, for a paid lens) the calls a branch replays too.
        with tap(1), DevSteer(self.pipe, record) as steer:
            yield Steering(steer, self.call(embeddings, pipe_kwargs, params["prompt"]), recall=record)


class DevSteer(OneKnob):
    """The step hook's switch for ``Flux2Pipeline``, and the transformer wrapper putting its
    distilled guidance in."""

    names = ["prompt_embeds"]  # the loop takes them back; a user's callback may change them too

    def __init__(self, pipe: Any, record: CallRecord) -> None:
        """``record``: keeps each call as made, for a paid lens."""
        self.pipe, self.record = pipe, record

    def active(self, pipe: Any) -> bool:
        return False  # one pass a step, whatever the guidance

    def apply(self, pipe: Any, kwargs: dict, batch: int, guidance: float) -> None:
        pipe._guidance_scale = guidance

    def swap_prompt(self, kwargs: dict, batch: int, embeddings: Embeddings, negative: bool) -> None:
        kwargs["prompt_embeds"] = fit(embeddings.cond["prompt_embeds"].to(kwargs["prompt_embeds"].device), batch)

    def __enter__(self) -> DevSteer:
        transformer = self.pipe.transformer
        original = transformer.forward

        def forward(**kwargs: Any) -> Any:
            # The pipeline's own guidance tensor (float32, one value per row), at the value now in force.
            kwargs["guidance"] = torch.full_like(kwargs["guidance"], float(self.pipe._guidance_scale))
            self.record.keep(kwargs)
            return original(**kwargs)

        self._undo = swap_forward(transformer, forward)
        return self

    def __exit__(self, *exc: object) -> None:
        self._undo()

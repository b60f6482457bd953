"""A prompt change for a running batch: matched to the rows (prompts) the run was started with."""

from __future__ import annotations

from typing import Any

from . import validate


def prompt_edit(
    prompt: Any, negative_prompt: Any, rows: int | None, where: str = ""
) -> tuple[str | list[str], str | list[str] | None]:
    """A prompt change for a run started with ``rows`` prompts (``None``: one string): one string
    for every row or, for a run started with a list, a list with one per prompt (with
    ``num_images_per_prompt``, each prompt's images take its own). Where one of the pair is a
    list the other is made one, as the pipelines encode a batch: the edit is encoded, recorded
    and replayed in that form. ``where`` names the control in messages (``"prompt_schedule[2] "``)."""
    prompt = _row_prompts(f"{where}prompt", prompt, rows)
    negative_prompt = _row_prompts(f"{where}negative_prompt", negative_prompt, rows, optional=True)
    if isinstance(prompt, list) and isinstance(negative_prompt, str):
        negative_prompt = [negative_prompt] * len(prompt)
    elif isinstance(negative_prompt, list) and isinstance(prompt, str):
        prompt = [prompt] * len(negative_prompt)
    return prompt, negative_prompt


def _row_prompts(name: str, value: Any, rows: int | None, *, optional: bool = False) -> str | list[str] | None:
    if not isinstance(value, list | tuple):
        return validate.prompt(name, value, optional=optional)
    if rows is None:
        raise TypeError(
            f"{name} must be one string: the run was started with one prompt, so it has no rows to give a "
            "prompt each (start it with a list of prompts for that)"
        )
    if len(value) != rows:
        raise ValueError(f"{name} must be one string or a list of one per prompt of the run ({rows}), got {len(value)}")
    return [validate.prompt(f"{name}[{i}]", text) for i, text in enumerate(value)]  # type: ignore[misc]

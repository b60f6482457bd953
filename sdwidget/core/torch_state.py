"""Torch's thread-local state (grad mode, CPU thread count), traded where a run hosted on the
kernel's thread and the kernel's cells take turns (``loop.py``): the pipeline's ``no_grad`` must
not leak into the user's cells, nor their settings into the run."""

from __future__ import annotations

import torch


def torch_state() -> tuple[bool, int]:
    return torch.is_grad_enabled(), torch.get_num_threads()


def set_torch_state(state: tuple[bool, int]) -> None:
    torch.set_grad_enabled(state[0])
    if torch.get_num_threads() != state[1]:
        torch.set_num_threads(state[1])

"""The guidance lens the page draws itself: a step's affine part and its quick picture's recipe.

A slider in motion on a held step (or in What if) cost a kernel round trip per value, most of it
Jupyter's (about 40 of 70-80 ms). Where the lens at a step is affine in the guidance (the rule
and its numerical check: ``core/lens_affine.py``), the page asks once per run and step (``lens``
with ``local``) and gets ``lens_local``: ``A`` and ``B`` (float32 buffers, shaped ``shape``: the
latents as the preview sees them), the range ``[low, high]`` they hold on (the guidance knob's
off value and top; ``flat_below``: below ``low`` the lens is ``x0(low)``), the lens reply's
``held`` and ``ran`` (for the caption), and the run's quick picture (``Lens.quick``) as ops
(``Preview.recipe``), each tensor a buffer named by its index, with ``recipe``: their key (a hash
of their content, computed once per state: its tensors' storage and version counters and its
numbers, so a net's weights changed in place or a fitted map's refit after each run give a new
key). The ops (about 200 KiB for the demo) go only where the request's ``recipe`` is not that key:
the page sends the key it holds, none after a reload, so a run's steps send the recipe once and a
refit or a new page gets it again. ``js/src/local_lens.js`` draws
``A + g·B`` for each value in range and asks the kernel only at rest (the run's own preview) and
outside the range. Refused (``refused``, in words), the page asks the kernel for every value, as
before: a guidance that is a model input, a batch (drawn as a grid), a preview with no recipe
(TAESD, a user's), a lens that is not affine.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import torch

from ..core import Run
from ..core.lens_affine import Affine, affine


def local_part(run: Run, reply: dict[str, Any], knob: dict[str, Any]) -> tuple[dict[str, Any], list[bytes]]:
    """The ``lens_local`` message answering ``reply``'s request at its run and step; ``knob``: the
    guidance's (``SamplerWidget.knobs[0]``). Never raises: it may run on the run's thread."""
    message: dict[str, Any] = {
        "type": "lens_local",
        **{key: reply.get(key) for key in ("id", "run", "step", "held", "ran")},
    }
    try:
        part, ops = _checked(run, reply["step"], knob)
        buffers = [_bytes(part.a[0]), _bytes(part.b[0])]
        message.update(
            low=part.low, high=part.high, flat_below=part.flat_below, shape=list(part.a.shape[1:]),
            picture="quick" if part.pictures.rough else "preview", recipe=_key(ops),
        )  # fmt: skip
        if reply.get("recipe") != message["recipe"]:
            message["ops"] = [_op(op, buffers) for op in ops]
    except ValueError as exc:
        return {**message, "refused": str(exc)}, []
    except Exception as exc:  # noqa: BLE001 - the page asks the kernel for each value instead
        return {**message, "refused": f"the page's own lens failed: {type(exc).__name__}: {exc}"}, []
    return message, buffers


_KEYS: dict[tuple, tuple[list[dict[str, Any]], str]] = {}
"""A recipe's state (its numbers, its tensors' storage and version counters) → (the recipe, kept so
that no other tensor gets that storage, and its key): the few newest."""


_LOCK = threading.Lock()


def _key(ops: list[dict[str, Any]]) -> str:
    """A hash of ``ops``' content, computed once per state: weights changed in place bump their
    version counter (a write through ``.data`` goes unseen: replace the tensor), new ones have new
    storage; a preview whose ops are new tensors each time keeps its list (``LatentPreview.recipe``)."""
    state = tuple(
        (name, (v.data_ptr(), v._version, tuple(v.shape)) if isinstance(v, torch.Tensor) else repr(v))
        for op in ops
        for name, v in op.items()
    )
    with _LOCK:
        known = _KEYS.get(state)
    if known is not None:
        return known[1]
    digest = hashlib.blake2b(digest_size=12)
    for op in ops:
        digest.update(repr(sorted((k, v) for k, v in op.items() if not isinstance(v, torch.Tensor))).encode())
        for value in op.values():
            if isinstance(value, torch.Tensor):
                digest.update(repr(list(value.shape)).encode() + _bytes(value))
    with _LOCK:  # the kernel's thread, a run's and a paid lens's may ask at once
        while len(_KEYS) >= 4:  # a few previews at once; older ones are hashed again if they come back
            _KEYS.pop(next(iter(_KEYS)))
        _KEYS[state] = (ops, digest.hexdigest())
    return digest.hexdigest()


def _checked(run: Run, step: int, knob: dict[str, Any]) -> tuple[Affine, list[dict[str, Any]]]:
    """The verified affine part and the quick picture's ops, or ``ValueError`` saying why not."""
    if knob.get("off_at") is None:
        raise ValueError("the guidance is a model input, not a combination of two halves")
    part = affine(run, step, float(knob["off_at"]), float(knob["high"]))
    if part.a.shape[0] != 1:
        raise ValueError("a batch's picture is a grid of its images")
    ops = part.pictures.fast.recipe()
    if ops is None:
        raise ValueError(f"{type(part.pictures.fast).__name__} has no recipe the page can run")
    return part, ops


def _op(op: dict[str, Any], buffers: list[bytes]) -> dict[str, Any]:
    """``op`` with each tensor replaced by ``{"buffer": index, "shape": [...]}``, its bytes appended."""
    out: dict[str, Any] = {}
    for name, value in op.items():
        if isinstance(value, torch.Tensor):
            out[name] = {"buffer": len(buffers), "shape": list(value.shape)}
            buffers.append(_bytes(value))
        else:
            out[name] = value
    return out


def _bytes(tensor: torch.Tensor) -> bytes:
    """Little-endian float32, as the page's ``Float32Array`` reads it (every browser's byte order)."""
    return tensor.detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4").tobytes()

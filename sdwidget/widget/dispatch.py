"""What each browser message does: one small handler per kind, over the widget's public methods.

The message has been validated (``messages.parse``); a handler may still refuse it with a
``TypeError``/``ValueError``/``RuntimeError`` (no run going, an unknown run), which the widget
shows as its message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core import Run
from . import interval

if TYPE_CHECKING:
    from .widget import SamplerWidget


def _run(widget: SamplerWidget, key: int, control: str) -> Run:
    record = widget._history[key]
    if not isinstance(record, Run):
        raise ValueError(f"{control}: run {key} is a loaded gallery; its model state was not kept")
    return record


def _plan(widget: SamplerWidget, values: dict[int, float], knob: str | None = None) -> None:
    """A curve dragged over the running run's later steps: the guidance's, or the named knob's."""
    widget.plan_knob(widget.knobs[0]["name"] if knob is None and widget.knobs else knob, values)


def _decode(widget: SamplerWidget, run: int, step: int) -> None:
    """Decode off the message handler (a VAE pass takes long) and send the exact image."""
    key, record = run, _run(widget, run, "Decode step")
    if step not in record.kept_steps:
        raise ValueError(f"Decode step: the latents of step {step + 1} were not kept for run {key}")

    def work() -> None:
        import io

        try:
            out = io.BytesIO()
            record.decode_step(step).save(out, format="PNG")
            widget.send({"type": "decoded", "run": key, "step": step}, [out.getvalue()])
        except Exception as exc:  # noqa: BLE001 - shown, never raised in a thread
            widget._apply({"message": f"Decode step failed: {type(exc).__name__}: {exc}"})

    threading.Thread(target=work, name="sdwidget-decode", daemon=True).start()


def _generate(widget: SamplerWidget, prompt: str, **args: Any) -> None:
    if "knob_schedules" in args:
        args["knob_schedules"] = widget._knob_schedules(args["knob_schedules"])
    run = widget._live.run
    if run is not None and not run.done:  # two open pages can race past the greyed-out button
        raise RuntimeError("Generate: a run is going; press Stop or wait for it to finish")
    widget.generate(prompt, **interval.for_generate(widget, args["num_inference_steps"]), **args)
    if widget.breakpoints:  # holds are the next run's: this one took them; later runs hold only where set again
        widget._apply({"breakpoints": []})


def _prompt(widget: SamplerWidget, prompt: Any, **args: Any) -> None:
    """Encode a prompt edit on this thread (the runner's rule: the step boundary only swaps tensors)
    and tell the page how long it took: it counts the wait up until this reply (a refusal is
    answered too, by ``messages.ANSWERED``)."""
    started = time.perf_counter()
    try:
        widget._live.set_prompt(prompt, **args)
    except (TypeError, ValueError):
        raise  # a bad value, named by its field
    except RuntimeError as exc:  # no run going, or torch's own (CUDA out of memory is one)
        raise RuntimeError(f"Apply prompt: {exc}") from exc
    except Exception as exc:
        # A text encoder's own failure (a bad tokenizer, a missing file) is shown, not raised into the kernel.
        raise RuntimeError(f"Apply prompt: encoding the new prompt failed: {type(exc).__name__}: {exc}") from exc
    widget.send({"type": "prompt_encoded", "seconds": time.perf_counter() - started})


def _ack(widget: SamplerWidget, run: int) -> None:
    if widget._current is not None and run == widget._current.run.id:  # a late ack of an old run: ignored
        widget._current.ack()


def _sync(widget: SamplerWidget) -> None:
    if widget._current is not None:
        widget._send_frames(widget._current.run.id)


def _sweep_grid(widget: SamplerWidget) -> None:
    """The grid image as a binary buffer, tagged with the sweep's key (an older reply is ignored)."""
    if widget._sweep is None:
        raise RuntimeError("Sweep: no sweep in this widget; add one with add_sweep(folder)")
    widget.send({"type": "sweep_grid", "key": widget.sweep["key"]}, [widget._sweep.grid])


# Return values are ignored: each handler's effect is on the run, the traits or the page.
HANDLERS: dict[str, Callable[..., object]] = {
    "generate": _generate,
    "guidance": lambda w, value: w.set_guidance(value),
    "plan": _plan,
    "pace": lambda w, value: w.set_pace(value),
    "prompt": _prompt,
    "breakpoints": lambda w, steps: w._apply({"breakpoints": steps}),
    "interval": interval.move,
    "knob": lambda w, name, value: w.set_knob(name, value),
    "guider": lambda w, name: w.set_guider(name),
    "branch": lambda w, run, step, knobs=None, **changes: w.branch(
        _run(w, run, "Branch from here"), step, **changes, **w._knob_changes(knobs, "Branch from here")
    ),
    "decode": _decode,
    "pause": lambda w: w.pause(),
    "resume": lambda w: w.resume(),
    "stop": lambda w: w.stop(),
    "step": lambda w: w._live.step_once(),
    "ack": _ack,
    "sync": _sync,
    "frames": lambda w, run: w._send_frames(run),
    "save": lambda w, run: w._saver.start(run, w.gallery_dir),
    "sweep_grid": _sweep_grid,
    "sweep_item": lambda w, item: w.replay_sweep(item),
    "lens": lambda w, **request: w._lens_request(**request),
    "views": lambda w, **request: w._lens_request(**request),
    "lens_mode": lambda w, **mode: w._lens_mode(**mode),
}


def handle(widget: SamplerWidget, kind: str, args: dict[str, Any]) -> None:
    HANDLERS[kind](widget, **args)

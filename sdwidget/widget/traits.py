"""What the widget shares with the browser: its front end and its traits, each documented."""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets as t

from . import frontend, interval


class WidgetState(anywidget.AnyWidget):
    """The synced state of a ``SamplerWidget``: status and controls of the current run, its
    final image and the history. Per-step frames are not traits; they travel as messages."""

    _esm = frontend.esm()
    _css = frontend.css()

    status = t.Unicode("idle").tag(sync=True)
    """idle, running, paused, finished, stopped or failed."""
    run_id = t.Int(0).tag(sync=True)
    """Id of the current run; frames of other runs are ignored by the browser."""
    step = t.Int(0).tag(sync=True)
    """Steps completed in the current run."""
    total = t.Int(0).tag(sync=True)
    """Steps the current run will take."""
    its = t.Float(0.0).tag(sync=True)
    """Speed of the current run in steps per second of working time: paused time and the pace's
    waits left out (what the model computes at)."""
    rate = t.Float(0.0).tag(sync=True)
    """Steps per second actually happening in the current run, its recent steps' median pace (a
    pause is an outlier the median ignores; a slow Pace shows here, not in ``its``)."""
    guidance = t.Float(7.5).tag(sync=True)
    """The guidance scale asked for last: the next step's value while a run goes."""
    applied = t.List(t.Float()).tag(sync=True)
    """The guidance scale each step of the current run was computed with."""
    edits = t.List(t.Dict()).tag(sync=True)
    """The prompt edits of the current run as applied (``Run.prompts``): per edit the first
    ``step`` (0-based) it conditions, its ``prompt`` and ``negative_prompt`` (``None``: unchanged)."""
    prompt = t.Unicode("").tag(sync=True)
    """Prompt shown in the form when the widget opens."""
    negative_prompt = t.Unicode("").tag(sync=True)
    """Negative prompt shown in the form when the widget opens."""
    steps = t.Int(20).tag(sync=True)
    """Steps shown in the form when the widget opens."""
    seed = t.Int(0, allow_none=True).tag(sync=True)
    """Seed shown in the form; the seed of the current run once it starts. ``None``: the Seed
    field is empty, a new random seed for each run (the current run's drawn seed is in ``runs``)."""
    height = t.Int(0)
    """Image height for runs started from the browser; 0 uses the pipeline's default. Kernel only."""
    width = t.Int(0)
    """Image width for runs started from the browser; 0 uses the pipeline's default. Kernel only."""
    error = t.Unicode("").tag(sync=True)
    """The exception of a failed run, as ``Type: message``."""
    message = t.Unicode("").tag(sync=True)
    """Why the last input from the browser or Python was refused; empty when all was well."""
    image = t.Bytes(b"").tag(sync=True)
    """The final image of the current run, PNG."""
    runs = t.List(t.Dict()).tag(sync=True)
    """The history (``History.entries``): per run or loaded gallery its key, a name that tells
    it apart (``#3``, ``gallery <folder>``), its own parameters (prompt, negative_prompt, seed,
    steps, guidance_scale), status, steps done, speed, guidance per step, each later knob's values
    per step (``knobs``: name → list) and source. Runs have
    positive keys (their ids), galleries negative ones."""
    view = t.Int(0).tag(sync=True)
    """Key of the run or gallery Python asks the browser to show; 0 follows the current run."""
    has_model = t.Bool(False).tag(sync=True)
    """Whether a pipeline is attached; without one the widget only shows galleries."""
    knobs = t.List(t.Dict()).tag(sync=True)
    """What a person steers on this model, as its family describes it (``sdwidget.families.Knob``):
    per knob its ``name``, ``kind``, ``default``, ``low``, ``high``, ``off_at`` and ``meaning``; the
    guidance control is the first."""
    knob_values = t.Dict(value_trait=t.Float()).tag(sync=True)
    """The value asked last of each knob after the guidance (``knobs[1:]``), by name: the next
    step's while a run goes, and what a run from the widget starts with (``guidance`` is the first's)."""
    knob_applied = t.Dict(value_trait=t.List(t.Float())).tag(sync=True)
    """Each knob after the guidance by name: the value each step of the current run was computed
    with (``Run.knob_curves``), as ``applied`` is for the guidance."""
    guidance_kind = t.Unicode("cfg").tag(sync=True)
    """The first knob's ``kind``: ``"cfg"``, classifier-free guidance, off at 1.0 and below (the
    curve marks the line), or ``"distilled"``, a guidance embedding, which has no such switch."""
    saved = t.Unicode("").tag(sync=True)
    """Name of the last gallery written by the Save gallery button (its run's entry in ``runs``
    says where it went, as ``saved``)."""
    saving = t.Bool(False).tag(sync=True)
    """Whether the Save gallery button's gallery is being written (on a thread of its own)."""
    gallery_dir = t.Unicode("galleries")
    """Folder that Save gallery writes into, one generated sub-folder per save. Kernel only:
    the browser never names a path."""
    pace = t.Float(10.0).tag(sync=True)
    """Steps per second for runs from this widget (0: full speed). A slow default, so that a
    person has time to pause, steer and single-step a fast model's run; set from the Pace control."""
    breakpoints = t.List(t.Int()).tag(sync=True)
    """Step counts (1-based) at which the next run from the browser holds, set by clicking the
    guidance curve or the filmstrip."""
    guidance_interval = t.List(t.Int()).tag(sync=True)
    """The steps where guidance applies, ``[first, end]`` (0-based, ``end`` not included; off
    elsewhere), set by the two handles on the guidance curve: the current run's, or the next
    run's while none goes; empty for every step (``widget/interval.py``)."""
    guider = t.Unicode("").tag(sync=True)
    """The class name of a modular pipeline's guider (``AdaptiveProjectedGuidance``...), which the
    next run takes; empty where the pipeline has none. Set by the Guider select (``widget/guider.py``)."""
    guiders = t.List(t.Dict()).tag(sync=True)
    """The guiders the Guider select offers, each ``{name, label}`` (class name, short name: CFG,
    APG, PAG...); empty where the pipeline has no guider, and the select is hidden."""
    lens = t.Dict().tag(sync=True)
    """The guidance lens as the page set it, so a reloaded page shows it again: ``what_if`` (a
    scrubbed step shows at the Guidance slider's value), ``views`` (the three views under the
    preview) and ``held`` (``{run, step, guidance}``: the held run's next step previewed at a value
    not applied yet; dropped once the run goes on). Frames travel as messages (``widget/lens.py``)."""
    effects = t.Dict().tag(sync=True)
    """How much guidance changed the picture at each step, per run of the history by key (as
    text): ``values`` (``Run.guidance_effect``: the mean |x0(g) − x0(off)| per step, 0 where CFG
    was off, null where no lens exists) and ``note`` (why a step has none, in words; else empty)."""
    sweep = t.Dict().tag(sync=True)
    """The sweep shown under the run (``add_sweep``), empty for none: its ``key`` (new for each
    sweep added), folder ``name``, grid ``size`` in pixels, ``cells`` (item, box, caption) and the
    ``selected`` item's ``record`` (seed, prompt, guidance per step, timings). The grid image is
    sent as a message when the browser asks; the folder's path never reaches the browser."""

    @t.observe("run_id")
    def _run_interval(self, change: dict[str, Any]) -> None:
        """A new current run: its interval on the handles (``interval.of_run``)."""
        recorded = interval.of_run(self, change["new"])
        if recorded is not None:
            self.guidance_interval = recorded

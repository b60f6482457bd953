"""benchmarks/shapes.py's code path on the CPU at tiny widths, so it cannot rot unnoticed.

In process (no second import of torch and diffusers) and on one torch thread: a few seconds.
Nothing here times anything; the CUDA-only sync check runs against a fake of torch's switch.
"""

import importlib
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def shapes(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("shapes")


def test_every_model_prints_its_row_at_tiny_widths(shapes, capsys):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        shapes.main(["--tiny", "--layers", "1", "--steps", "2", "--device", "cpu"])
    finally:
        torch.set_num_threads(threads)
    rows = capsys.readouterr().out.splitlines()
    assert "tiny widths, layers cut to at most 1 of each kind" in rows[0]
    assert [row.split()[0] for row in rows[1:]] == ["sd", "sdxl", "sd3", "flux"]
    assert all("ms/step" in row and "callback host median" in row and "share" in row for row in rows[1:])
    for row in rows[1:]:  # the share is the host time (µs) over the runner's step (ms), as a percentage
        words = row.split()
        step_ms, host_us = float(words[words.index("runner") + 1]), float(words[words.index("median") + 1])
        share = float(words[words.index("share") + 1].rstrip("%"))
        assert share == pytest.approx(100 * host_us / (1000 * step_ms), rel=0.01, abs=0.0005), row


def test_the_vae_decode_is_a_blank_image_of_its_size(shapes):
    class Vae:
        pass

    vae = Vae()
    shapes.blank_decode(vae)
    image = vae.decode(torch.ones(2, 16, 5, 7), return_dict=False)[0]
    assert image.shape == (2, 3, 40, 56) and not image.any()
    assert vae.decode(torch.ones(1, 4, 3, 3)).sample.shape == (1, 3, 24, 24)


def test_layers_are_cut_as_asked(shapes):
    models = importlib.import_module("shape_pipelines")
    assert models.cap((1, 2, 10), 1) == (1, 1, 1) and models.cap(38, 2) == 2 and models.cap(24, None) == 24
    flux = models.denoiser("flux", tiny=True, layers=1)
    assert len(flux.transformer_blocks) == 1 and len(flux.single_transformer_blocks) == 1


def test_the_callback_runs_under_sync_debug_mode_error_and_restores_it(shapes, monkeypatch):
    modes = []
    monkeypatch.setattr(torch.cuda, "set_sync_debug_mode", modes.append)
    checked = shapes.strict(lambda hook, step: modes.append(f"step {step}") or {})
    assert checked(None, 3) == {} and modes == ["error", "step 3", 0]

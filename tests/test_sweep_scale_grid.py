"""Big grids (issue #28 item 9): grid.png always fits the widget's limit, so any sweep opens;
when its cells had to shrink, the full-size cells are written as pages in grid.json's layout."""

import json

import numpy as np
from PIL import Image

from sdwidget import Gallery, Runner, demo_pipeline
from sdwidget.sweep import grid, sweep
from sdwidget.widget import sweeps


def test_the_grid_limit_is_the_widgets():
    assert grid.MAX_PIXELS == sweeps.MAX_GRID_PIXELS


def test_a_grid_too_big_for_the_widget_shrinks_and_pages_and_the_widget_opens_it(tmp_path, monkeypatch):
    demo = demo_pipeline()
    run = Runner(demo).generate("a red circle on a black background", num_inference_steps=2, seed=1)
    gallery = Gallery.from_run(run).save(tmp_path / "gallery")
    # 12 cells of 128 x 142 are 218k pixels: over a 100k-pixel limit, as 1,000 cells of 256 px
    # (70.8 Mpixel) are over the widget's 64 Mpixel one.
    monkeypatch.setattr(grid, "MAX_PIXELS", 100_000)
    monkeypatch.setattr(grid, "PAGE_ITEMS", 5)
    monkeypatch.setattr(sweeps, "MAX_GRID_PIXELS", 100_000)
    out = tmp_path / "out"
    records = sweep(gallery, seeds="0:12", out=out, model=demo, steps=2, progress=False)
    with Image.open(out / "grid.png") as sheet:
        assert sheet.width * sheet.height <= 100_000
    opened = sweeps.Sweep(out)  # the widget's own reader
    assert [cell["item"] for cell in opened.cells] == list(range(12))
    pages = sorted(p.name for p in out.glob("grid-page-*"))
    assert pages == [f"grid-page-00{n}.{ext}" for n in (1, 2, 3) for ext in ("json", "png")]
    layout = json.loads((out / "grid-page-002.json").read_text())
    assert [cell["item"] for cell in layout["items"]] == [5, 6, 7, 8, 9] and layout["cell"] == [128, 142]
    with Image.open(out / "grid-page-002.png") as page:
        x, y, w, h = layout["items"][1]["box"]
        cell = np.asarray(page.convert("RGB"))[y : y + h, x : x + w]
    with Image.open(out / records[6]["image"]) as final:
        assert np.array_equal(cell, np.asarray(final.convert("RGB").resize((w, h), Image.Resampling.NEAREST)))

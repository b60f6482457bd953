"""A sweep item replayed by hand (issue #28 item 8): ``runner.replay(gallery, prompt=P, seed=S)``
drops the recorded prompt edits, a sweep keeps them; ``item_source`` is the sweep's item."""

import numpy as np
from PIL import Image

from sdwidget import Gallery, Runner, demo_pipeline
from sdwidget.sweep import item_source, sweep

PROMPT = "a small yellow triangle at the top left"


def test_item_source_replays_a_sweep_item_pixel_for_pixel(tmp_path):
    demo = demo_pipeline()
    edit = [{"step": 2, "prompt": "a blue square on a black background"}]
    run = Runner(demo).generate(
        "a red circle on a black background", num_inference_steps=4, seed=1, prompt_schedule=edit
    )
    gallery = Gallery.from_run(run).save(tmp_path / "gallery")
    [record] = sweep(gallery, seeds=[0], prompts=[PROMPT], out=tmp_path / "out", model=demo, progress=False)
    with Image.open(tmp_path / "out" / record["image"]) as png:
        swept = np.asarray(png.convert("RGB"))
    by_hand = Runner(demo).replay(item_source(gallery, prompt=PROMPT, seed=0))
    by_hand.wait()
    assert np.array_equal(np.asarray(by_hand.image), swept) and by_hand.prompts == run.prompts
    plain = Runner(demo).replay(Gallery.load(gallery), prompt=PROMPT, seed=0)
    plain.wait()
    assert plain.prompts == [] and not np.array_equal(np.asarray(plain.image), swept), "the difference documented"
    dropped = Runner(demo).replay(item_source(gallery, prompt=PROMPT, seed=0, prompt_edits=False))
    dropped.wait()
    assert np.array_equal(np.asarray(dropped.image), np.asarray(plain.image))

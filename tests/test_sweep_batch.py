"""Batched sweeps (issue #28 item 10): ``batch=N`` renders N seeds of a prompt in one pipeline call
(one generator per row). A batch's rows are not bit-equal to single runs (the batched model calls
sum in another order), so an item's exact replay is its batch's replay, row ``record["row"]``.
Tiny SD pipelines at 32 px, 4 steps, one torch thread."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from PIL import Image
from test_sweep_inputs import gallery_of
from test_sweep_scale import ThreadGroup, stop_after
from test_widget import Browser, wait_for

from sdwidget import Gallery, Runner, SamplerWidget
from sdwidget.sweep import (
    Source,
    SweepError,
    SweepPlan,
    item_source,
    load_records,
    load_source,
    main,
    parse_seeds,
    sweep,
)
from sdwidget.testing import tiny_sd_pipeline

STEPS, SIZE, SEEDS = 4, 32, "0:5"  # batches of 2: [0, 1], [2, 3] and the leftover [4]
PROMPTS = ["a red star", "a blue ring"]
EDIT = [{"step": 3, "prompt": "a yellow moon", "negative_prompt": None}]

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def pipe():
    return tiny_sd_pipeline()


@pytest.fixture(scope="module")
def gallery(pipe, tmp_path_factory):
    """A steered run (guidance 5 → 1 → 8) with a prompt edit at step 3."""
    run = Runner(pipe, cpu_threads=1).generate(
        PROMPTS[0], num_inference_steps=STEPS, guidance_schedule=[5.0, 1.0, 8.0, 8.0], prompt_schedule=EDIT,
        seed=1, height=SIZE, width=SIZE,
    )  # fmt: skip
    return Gallery.from_run(run).save(tmp_path_factory.mktemp("source") / "gallery")


@pytest.fixture(scope="module")
def prompts_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("prompts") / "prompts.txt"
    path.write_text("\n".join(PROMPTS) + "\n")
    return path


@pytest.fixture(scope="module")
def batched(pipe, gallery, prompts_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("batched") / "out"
    return out, sweep(gallery, seeds=SEEDS, prompts=prompts_file, out=out, model=pipe, batch=2, progress=False)


def pixels(path):
    return np.asarray(Image.open(path).convert("RGB"))


def untimed(records):
    return [{k: v for k, v in r.items() if k != "timings"} for r in records]


def test_batched_items_equal_the_python_replay_of_their_batch(pipe, gallery, batched):
    out, records = batched
    assert [(r["prompt"], r["seed"]) for r in records] == [(p, s) for p in PROMPTS for s in range(5)]
    assert [(r["batch"], r["row"]) for r in records[:5]] == [
        ([0, 1], 0),
        ([0, 1], 1),
        ([2, 3], 0),
        ([2, 3], 1),
        ([4], 0),
    ]
    assert records[1]["params"]["pipe_kwargs"]["num_images_per_prompt"] == 2 and records[1]["params"]["seed"] == [0, 1]
    assert json.loads((out / "sweep.json").read_text())["batch"] == 2
    calls = {tuple(r["batch"]): r["timings"]["started"] for r in records if r["prompt_index"] == 0}
    assert all(r["timings"]["started"] == calls[tuple(r["batch"])] for r in records[:5]), "one pipeline call a batch"
    runner = Runner(pipe, cpu_threads=1)
    for record in records:
        run = runner.replay(load_source(out / "records" / f"{record['name']}.json"))  # the record replays its batch
        run.wait()
        assert len(run.images) == len(record["batch"]) and run.prompts == EDIT
        replayed = np.asarray(run.images[record["row"]].convert("RGB"))
        assert np.array_equal(replayed, pixels(out / record["image"])), record["name"]
    # By hand from the gallery: item_source with the batch's seeds is the same call.
    by_hand = runner.replay(item_source(gallery, prompt=PROMPTS[1], seed=[2, 3]))
    by_hand.wait()
    assert np.array_equal(np.asarray(by_hand.images[1].convert("RGB")), pixels(out / "images/p001-s3.png"))
    chunk = json.loads(Image.open(out / "images/p001-s3.png").text["sdwidget-sweep"])
    assert (chunk["batch"], chunk["row"], chunk["seed"]) == ([2, 3], 1, 3)
    assert "Seed: 3," in Image.open(out / "images/p001-s3.png").text["parameters"]


def test_a_batch_of_one_is_the_unbatched_sweep_byte_for_byte(pipe, gallery, prompts_file, batched, tmp_path):
    seeds = "3:5"  # seed 4 is the batched sweep's leftover batch of one
    plain = sweep(gallery, seeds=seeds, prompts=prompts_file, out=tmp_path / "plain", model=pipe, progress=False)
    ones = sweep(gallery, seeds=seeds, prompts=prompts_file, out=tmp_path / "ones", model=pipe, batch=1, progress=False)
    assert untimed(ones) == untimed(plain) and all("batch" not in r and type(r["seed"]) is int for r in ones)
    runner = Runner(pipe, cpu_threads=1)
    for record in plain:
        assert (tmp_path / "ones" / record["image"]).read_bytes() == (tmp_path / "plain" / record["image"]).read_bytes()
        run = runner.replay(item_source(gallery, prompt=record["prompt"], seed=record["seed"]))
        run.wait()
        assert np.array_equal(np.asarray(run.image.convert("RGB")), pixels(tmp_path / "plain" / record["image"]))
    # A batched sweep's leftover batch of one seed is that seed's unbatched image, pixel for pixel.
    out, _ = batched
    for name in ("p000-s4", "p001-s4"):
        assert np.array_equal(pixels(out / f"images/{name}.png"), pixels(tmp_path / f"plain/images/{name}.png"))


def test_a_batch_row_differs_from_its_seed_alone_by_float_rounding_only(pipe, gallery):
    """What the README states: a batch is not bit-equal to single runs, only close."""
    runner = Runner(pipe, cpu_threads=1)
    rows = runner.replay(item_source(gallery, prompt=PROMPTS[0], seed=[0, 1, 2, 3]), keep_latents=True)
    rows.wait()
    differences = []
    for seed in range(4):
        alone = runner.replay(item_source(gallery, prompt=PROMPTS[0], seed=seed), keep_latents=True)
        alone.wait()
        latents = (rows.latents[seed] - alone.latents[0]).abs().max().item()
        image = np.abs(np.asarray(rows.images[seed], dtype=int) - np.asarray(alone.image, dtype=int)).max()
        print(f"seed {seed}: batch of 4 vs alone: latents {latents:.2g}, 8-bit pixels {image}")
        assert latents < 1e-3 and image <= 2
        differences.append(latents)
    assert max(differences) > 0, "a batch is not bit-equal to its seeds alone: the README says so"


def test_a_resume_with_another_batch_size_is_refused_saying_so(pipe, gallery, tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):  # item 1 of batch [0, 1] written, item 2 not
        sweep(gallery, seeds="0:4", out=out, model=pipe, batch=2, progress=False, callback=stop_after(1))
    with pytest.raises(SweepError, match=r"swept in batches of 2 seeds, this sweep asks for 3; .* --batch 2"):
        sweep(gallery, seeds="0:4", out=out, model=pipe, batch=3, progress=False)
    with pytest.raises(SweepError, match=r"swept in batches of 2 seeds, this sweep asks for 1"):
        sweep(gallery, seeds="0:4", out=out, model=pipe, progress=False)
    tiny_sd_pipeline().save_pretrained(tmp_path / "model")  # the command line loads a folder (not ``pipe``: saving
    # adds _class_name to its scheduler's config, which runs record)
    cli = [str(gallery), "--seeds", "0:4", "--out", str(tmp_path / "cli"), "--model", str(tmp_path / "model")]
    assert main([*cli, "--no-progress", "--batch", "2"]) == 0
    assert [r["batch"] for r in load_records(tmp_path / "cli")] == [[0, 1], [0, 1], [2, 3], [2, 3]]
    assert main([*cli, "--no-progress", "--batch", "4"]) == 2
    assert "swept in batches of 2 seeds, this sweep asks for 4" in capsys.readouterr().err
    first = (out / "images/p000-s0.png").read_bytes()
    resumed = sweep(gallery, seeds="0:4", out=out, model=pipe, batch=2, progress=False)  # the half-done batch whole
    whole = sweep(gallery, seeds="0:4", out=tmp_path / "whole", model=pipe, batch=2, progress=False)
    assert untimed(resumed) == untimed(whole) and (out / "images/p000-s0.png").read_bytes() == first
    for record in whole:
        assert (out / record["image"]).read_bytes() == (tmp_path / "whole" / record["image"]).read_bytes()
    # A folder swept before batches were recorded was swept one seed a call.
    identity = json.loads((tmp_path / "whole" / "sweep.json").read_text())
    del identity["batch"]
    (tmp_path / "whole" / "sweep.json").write_text(json.dumps(identity))
    with pytest.raises(SweepError, match=r"swept in batches of 1 seeds, this sweep asks for 2"):
        sweep(gallery, seeds="0:4", out=tmp_path / "whole", model=pipe, batch=2, progress=False)


def test_two_processes_split_whole_batches_and_equal_one_process(gallery, prompts_file, batched, tmp_path, monkeypatch):
    out = tmp_path / "shared"
    models = [tiny_sd_pipeline(), tiny_sd_pipeline()]
    with pytest.raises(KeyboardInterrupt):  # an earlier sweep wrote seed 0, not seed 1 of batch [0, 1]
        sweep(gallery, seeds=SEEDS, prompts=prompts_file, out=out, model=models[0], batch=2, progress=False,
              callback=stop_after(1))  # fmt: skip
    results, errors = ThreadGroup(2).run(monkeypatch, lambda rank: sweep(
        gallery, seeds=SEEDS, prompts=prompts_file, out=out, model=models[rank], batch=2, progress=False))  # fmt: skip
    assert errors == [None, None], errors
    one, records = batched
    assert untimed(results[0]) == untimed(records)
    ranks = {r["name"]: r["timings"].get("rank") for r in results[0]}
    # Pending batches, every other one: [0, 1] (seed 1 only), [2, 3], [4]; then prompt 1's.
    assert [ranks[f"p000-s{s}"] for s in range(1, 5)] == [0, 1, 1, 0]
    assert [ranks[f"p001-s{s}"] for s in range(5)] == [1, 1, 0, 0, 1]
    for record in records:
        assert (one / record["image"]).read_bytes() == (out / record["image"]).read_bytes(), record["name"]


def test_a_batch_is_refused_where_it_cannot_be_one_seed_per_image(pipe, gallery, tmp_path):
    with pytest.raises(SweepError, match="batch must be"):
        sweep(gallery, seeds=SEEDS, out=tmp_path / "a", model=pipe, batch=0, progress=False)
    run = Runner(pipe, cpu_threads=1).generate(
        "a red star", num_inference_steps=2, seed=[3, 4], height=SIZE, width=SIZE, num_images_per_prompt=2
    )
    assert run.params["seed"] == [3, 4] and len(run.images) == 2
    with pytest.raises(SweepError, match="several a call: sweep it unbatched"):
        sweep(run, seeds=SEEDS, out=tmp_path / "b", model=pipe, batch=2, progress=False)
    with pytest.raises(ValueError, match="this run makes 2 .* got 3 seeds"):
        Runner(pipe).start("a", seed=[1, 2, 3], num_images_per_prompt=2, height=SIZE, width=SIZE)


def test_a_run_with_one_seed_per_image_is_diffusers_own_batch_and_replays_bit_equal(pipe, tmp_path):
    """The oracle: the bare pipeline handed one generator per image (no sdwidget code)."""
    seeds, prompts = [7, 3, 11, 2], ["a red star", "a blue ring"]
    runner = Runner(pipe, cpu_threads=1)
    run = runner.generate(
        prompts, num_inference_steps=STEPS, guidance_scale=6.0, seed=seeds, height=SIZE, width=SIZE,
        num_images_per_prompt=2,
    )  # fmt: skip
    assert run.params["seed"] == seeds and run.params["seed_random"] is False and len(run.images) == 4
    with torch.no_grad():
        expected = pipe(
            prompts, num_inference_steps=STEPS, guidance_scale=6.0, height=SIZE, width=SIZE, num_images_per_prompt=2,
            generator=[torch.Generator().manual_seed(s) for s in seeds], output_type="latent",
        ).images  # fmt: skip
    difference = (run.latents - expected).abs().max().item()
    print(f"seed list against diffusers' own batch: max difference {difference:.3g}")
    assert difference <= 1e-5
    loaded = Gallery.load(Gallery.from_run(run).save(tmp_path / "g"))
    assert loaded.params["seed"] == seeds
    for source in (run, loaded):
        again = runner.replay(source)
        again.wait()
        assert [np.asarray(i).tobytes() for i in again.images] == [np.asarray(i).tobytes() for i in run.images]
        assert torch.equal(again.latents, run.latents)


def test_batches_are_fixed_by_the_plan_and_split_whole():
    plan = SweepPlan(Source({"prompt": "p"}, [5.0]), ["a", "b"], parse_seeds("10:15"), None, True, "m", "float32")
    plan = dataclasses.replace(plan, batch=2)
    batches = [list(b) for b in plan.pending(set())]
    assert batches == [[0, 1], [2, 3], [4], [5, 6], [7, 8], [9]]
    assert [[plan.item(i).seed for i in b] for b in batches[:3]] == [[10, 11], [12, 13], [14]]
    done = {0, 3, 4, 5, 6}  # [2, 3] is half done: rendered whole; [4] and [5, 6] are done
    assert [list(b) for b in plan.pending(done)] == [[0, 1], [2, 3], [7, 8], [9]]
    assert [list(b) for b in plan.pending(done, 1, 2)] == [[2, 3], [9]]
    assert [list(b) for b in dataclasses.replace(plan, batch=1).pending({1}, 0, 2)] == [[0], [3], [5], [7], [9]]


@pytest.mark.parametrize("kind", ["img2img", "inpaint", "controlnet"])
def test_an_image_input_run_sweeps_in_batches_that_replay_exactly(kind, tmp_path):
    """The run's images go to every row (diffusers repeats them per image)."""
    pipe = tiny_sd_pipeline(kind=kind)
    _, gallery = gallery_of(pipe, kind, tmp_path / "gallery")
    records = sweep(gallery, seeds="0:3", out=tmp_path / "out", model=pipe, batch=2, progress=False)
    assert [(r["batch"], r["row"], r["status"]) for r in records] == [
        ([0, 1], 0, "finished"), ([0, 1], 1, "finished"), ([2], 0, "finished")
    ]  # fmt: skip
    runner = Runner(pipe, cpu_threads=1)
    for record in records[:2]:
        run = runner.replay(load_source(tmp_path / "out" / "records" / f"{record['name']}.json"))
        run.wait()
        replayed = np.asarray(run.images[record["row"]].convert("RGB"))
        assert np.array_equal(replayed, pixels(tmp_path / "out" / record["image"])), record["name"]
    first, second = (pixels(tmp_path / "out" / r["image"]) for r in records[:2])
    assert not np.array_equal(first, second), "each row has its own seed's noise"


def test_the_widget_shows_a_batched_sweep_and_a_batch_run(pipe, batched):
    out, records = batched
    widget = SamplerWidget(pipe, pace=0)
    widget.add_sweep(out)
    browser = Browser(widget)
    second = next(r for r in records if r["row"] == 1)  # the second seed of its batch
    browser.say({"type": "sweep_item", "item": second["item"]})
    assert widget.sweep["record"]["seed"] == second["batch"][1], "the item's own seed, not its batch's"
    assert f"row {second['row']}" in widget.message and "images[1]" in widget.message, widget.message
    # A run of several seeds (Python's seed=[...]) becomes the widget's current run: the form shows its first.
    run = widget.runner.generate("a red star", seed=[7, 8], num_images_per_prompt=2, num_inference_steps=2, height=SIZE,
                                width=SIZE)  # fmt: skip
    wait_for(lambda: widget.run_id == run.id and widget.status == "finished")
    assert widget.seed == 7 and widget.error == ""

"""A gallery whose run.json lists no files (the key missing, or null) is refused like every other
malformed gallery: one ValueError naming the folder, not a KeyError or a TypeError."""

import json
import shutil

import pytest

from sdwidget import Gallery, Runner


@pytest.fixture(scope="module")
def base(sd_pipe, tmp_path_factory):
    run = Runner(sd_pipe).generate("a red star", num_inference_steps=3, guidance_scale=5.0, seed=2)
    return Gallery.from_run(run).save(tmp_path_factory.mktemp("base") / "g")


@pytest.mark.parametrize("files", ["missing", None, [], "steps.png"])
def test_a_run_json_without_a_files_mapping_is_refused_naming_the_folder(base, tmp_path, files):
    folder = shutil.copytree(base, tmp_path / "no-files-gallery")
    meta = json.loads((folder / "run.json").read_text())
    if files == "missing":
        del meta["files"]
    else:
        meta["files"] = files
    (folder / "run.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError) as raised:
        Gallery.load(folder)
    assert type(raised.value) is ValueError
    assert str(raised.value).startswith(f"{folder}/run.json is not a valid sdwidget gallery: ")
    assert "files" in str(raised.value)


def test_the_untampered_gallery_still_loads(base):
    gallery = Gallery.load(base)
    assert len(gallery.frames) == 3 and gallery.image is not None

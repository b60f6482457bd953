"""What a person can steer comes from the pipeline's family (README, "Pipelines"; docs/adding-a-family.md)."""

from sdwidget import Runner, SamplerWidget
from sdwidget.families import FAMILIES, family_of
from sdwidget.testing import (
    tiny_chroma_pipeline,
    tiny_flux2_dev_pipeline,
    tiny_flux2_klein_pipeline,
    tiny_flux_pipeline,
    tiny_modular_flux_pipeline,
    tiny_modular_sd3_pipeline,
    tiny_modular_sdxl_pipeline,
    tiny_qwen_image_pipeline,
    tiny_sd3_pipeline,
    tiny_z_image_pipeline,
)  # fmt: skip


def test_each_family_describes_its_knob_and_the_widget_shows_it(sd_pipe, sdxl_pipe):
    dev, schnell = tiny_flux_pipeline(), tiny_flux_pipeline(guidance_embeds=False)
    rescale = ["guidance_rescale"]  # the SD and SDXL text-to-image loops read it at every step
    kinds = {
        "sd": (sd_pipe, "cfg", 7.5, 1.0, rescale), "sdxl": (sdxl_pipe, "cfg", 7.5, 1.0, rescale),
        "sd3": (tiny_sd3_pipeline(), "cfg", 7.5, 1.0, []),
        "flux-dev": (dev, "distilled", 3.5, None, []), "flux-schnell": (schnell, "cfg", 7.5, 1.0, []),
        "chroma": (tiny_chroma_pipeline(), "cfg", 5.0, 1.0, []),
        "qwen-image": (tiny_qwen_image_pipeline(), "cfg", 4.0, 1.0, []),
        "modular-sdxl": (tiny_modular_sdxl_pipeline(), "cfg", 7.5, 1.0, ["guidance_rescale", "start", "stop"]),
        "modular-sd3": (tiny_modular_sd3_pipeline(), "cfg", 7.0, 1.0, ["guidance_rescale", "start", "stop"]),
        "modular-flux": (tiny_modular_flux_pipeline(), "distilled", 3.5, None, []),
        "z-image": (tiny_z_image_pipeline(), "cfg", 5.0, 0.0, []),
        "flux2-klein": (tiny_flux2_klein_pipeline(), "cfg", 4.0, 1.0, []),
        "flux2-dev": (tiny_flux2_dev_pipeline(), "distilled", 4.0, None, []),
    }  # fmt: skip
    for name, (pipe, kind, default, off_at, later) in kinds.items():
        knobs = Runner(pipe).knobs
        assert [k["name"] for k in knobs] == ["guidance_scale", *later], name
        assert (knobs[0]["kind"], knobs[0]["default"], knobs[0]["off_at"]) == (kind, default, off_at), name
        assert knobs[0]["meaning"], name
        widget = SamplerWidget(pipe)
        assert widget.knobs == knobs and widget.guidance_kind == kind and widget.guidance == default, name
        widget.close()
    steered = {family for family in FAMILIES if family.__name__ != "Unchecked"}  # it refuses every pipeline it matches
    assert {type(family_of(pipe)) for pipe, *_ in kinds.values()} == steered, "every family is covered"

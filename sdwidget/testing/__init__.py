"""Tiny random-weight pipelines built offline, for testing your own code with sdwidget.

``tiny_sd_pipeline()`` (text-to-image, img2img, inpainting, ControlNet: ``SD_KINDS``),
``tiny_sdxl_pipeline()``, ``tiny_sd3_pipeline()`` and ``tiny_flux_pipeline()`` build pipelines
from configs in well under a second, with no download: real diffusers code paths (CFG, SDXL's
pooled embeddings and time ids, flow matching, schedulers from ``make_scheduler``) at a size
where a 20-step run takes milliseconds. Their pictures are noise.

    from sdwidget import Runner
    from sdwidget.testing import tiny_sd_pipeline

    run = Runner(tiny_sd_pipeline()).generate("a red star", num_inference_steps=4, seed=0)

The tokenizer is written to disk and loaded with ``from_pretrained`` because the keyword
recipe (``CLIPTokenizer(vocab_file=..., merges_file=...)``) is silently broken on
transformers 5: every prompt would tokenize like the empty one and CFG would be a no-op.
"""

from .chroma import tiny_chroma_pipeline
from .flow import tiny_flux_pipeline, tiny_sd3_pipeline
from .flux2 import tiny_flux2_klein_pipeline
from .flux2_dev import tiny_flux2_dev_pipeline
from .modular import tiny_modular_flux_pipeline, tiny_modular_sd3_pipeline, tiny_modular_sdxl_pipeline
from .qwen_image import tiny_qwen_image_pipeline
from .sd import SD_KINDS, make_scheduler, tiny_sd_pipeline, tiny_sdxl_pipeline, tokenizer, write_tokenizer
from .z_image import tiny_z_image_pipeline

__all__ = [
    "SD_KINDS",
    "make_scheduler",
    "tiny_chroma_pipeline",
    "tiny_flux2_dev_pipeline",
    "tiny_flux2_klein_pipeline",
    "tiny_flux_pipeline",
    "tiny_modular_flux_pipeline",
    "tiny_modular_sd3_pipeline",
    "tiny_modular_sdxl_pipeline",
    "tiny_qwen_image_pipeline",
    "tiny_sd3_pipeline",
    "tiny_sd_pipeline",
    "tiny_sdxl_pipeline",
    "tiny_z_image_pipeline",
    "tokenizer",
    "write_tokenizer",
]

"""Writing a gallery folder: PNGs with metadata, contact sheet, animations and run.json."""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from .inputs import write_inputs

FRAME_MS = 80
LAST_FRAME_MS = 1000
_LABEL_H = 14


def write_gallery(gallery: Any, folder: Path) -> Path:
    """Build the gallery in a hidden sibling folder, then rename it into place in one step. A
    failed write leaves nothing behind: neither the gallery nor the parent folders it made."""
    folder = folder.expanduser().absolute()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise FileExistsError(f"{folder} already exists and is not empty; galleries are never overwritten")
    made = [parent for parent in reversed(folder.parents) if not parent.exists()]
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        files = _write_files(gallery, tmp)
        (tmp / "run.json").write_text(json.dumps({**gallery.metadata(), "files": files}, indent=1))
        try:
            os.rename(tmp, folder)  # atomic; fails rather than replace a folder that filled up meanwhile
        except OSError as exc:
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                appeared = f"{folder} appeared while the gallery was written; nothing was overwritten"
                raise FileExistsError(appeared) from exc
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for parent in reversed(made):  # innermost first; rmdir refuses a folder someone else filled
            with contextlib.suppress(OSError):
                parent.rmdir()
        raise
    return folder


def _write_files(gallery: Any, tmp: Path) -> dict:
    meta = json.dumps({k: v for k, v in gallery.metadata().items() if k != "steps"})
    frames = [Image.fromarray(frame, "RGB") for frame in gallery.frames]
    width = max(3, len(str(gallery.params.get("num_inference_steps", len(frames)))))
    (tmp / "steps").mkdir()
    names = []
    for frame, step in zip(frames, gallery.steps, strict=True):
        name = f"steps/step-{step['step'] + 1:0{width}d}.png"
        frame.save(tmp / name, pnginfo=_pnginfo(gallery, meta, step))
        names.append(name)
    files: dict[str, Any] = {"steps": names}
    files.update(dict.fromkeys(("final", "contact_sheet", "gif", "webp", "mp4")))
    files["inputs"] = write_inputs(gallery.inputs, tmp)
    if gallery.image is not None:
        gallery.image.save(tmp / "final.png", pnginfo=_pnginfo(gallery, meta, None))
        files["final"] = "final.png"
        files["batch"] = [f"final-{i}.png" for i in range(2, len(gallery.images) + 1)]
        for image, name in zip(gallery.images[1:], files["batch"], strict=True):
            image.save(tmp / name, pnginfo=_pnginfo(gallery, meta, None))
    if frames:
        contact_sheet(frames, gallery.steps).save(tmp / "contact-sheet.png", pnginfo=_pnginfo(gallery, meta, None))
        movie = [captioned(frame, step) for frame, step in zip(frames, gallery.steps, strict=True)]
        durations = [FRAME_MS] * (len(movie) - 1) + [LAST_FRAME_MS]
        movie[0].save(tmp / "steps.gif", save_all=True, append_images=movie[1:], duration=durations, loop=0)
        movie[0].save(tmp / "steps.webp", save_all=True, append_images=movie[1:], duration=durations, loop=0,
                      lossless=True)  # fmt: skip
        files.update(contact_sheet="contact-sheet.png", gif="steps.gif", webp="steps.webp")
        if _write_mp4(movie, tmp / "steps.mp4"):
            files["mp4"] = "steps.mp4"
    return files


def _pnginfo(gallery: Any, meta: str, step: dict | None) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("sdwidget", meta)
    if step is not None:
        info.add_itxt("sdwidget-step", json.dumps(step))
    info.add_itxt("parameters", a1111_parameters(gallery.params, gallery.guidance))
    return info


def a1111_parameters(params: dict, guidance: list[float]) -> str:
    """The ``parameters`` text AUTOMATIC1111 and most image viewers show."""
    lines = [_text(params.get("prompt"))]
    if params.get("negative_prompt"):
        lines.append(f"Negative prompt: {_text(params['negative_prompt'])}")
    curve = " ".join(f"{g:g}" for g in guidance)
    lines.append(
        f"Steps: {params.get('num_inference_steps')}, Sampler: {params.get('scheduler')}, "
        f"CFG scale: {params.get('guidance_scale')}, Seed: {params.get('seed')}, "
        f"Size: {params.get('width')}x{params.get('height')}, Model: {params.get('model')}, CFG schedule: {curve}"
    )
    return "\n".join(lines)


def _text(prompt: str | list[str] | None) -> str:
    """A batch's prompts on one line, as A1111's prompt matrix writes them."""
    return " | ".join(prompt) if isinstance(prompt, list) else prompt or ""


def contact_sheet(frames: list[Image.Image], steps: list[dict]) -> Image.Image:
    """All steps in a grid, each labelled with its 1-based step number and guidance."""
    cols = math.ceil(math.sqrt(len(frames)))
    rows = math.ceil(len(frames) / cols)
    cell_w = max(max(f.width for f in frames), 64)
    cell_h = max(f.height for f in frames) + _LABEL_H
    sheet = Image.new("RGB", (cols * cell_w, rows * cell_h), (24, 24, 24))
    pen, font = ImageDraw.Draw(sheet), ImageFont.load_default()
    for i, (frame, step) in enumerate(zip(frames, steps, strict=True)):
        x, y = (i % cols) * cell_w, (i // cols) * cell_h
        sheet.paste(frame, (x + (cell_w - frame.width) // 2, y))
        pen.text(
            (x + 2, y + cell_h - _LABEL_H + 1), f"{step['step'] + 1} g{step['guidance']:g}", fill="white", font=font
        )
    return sheet


def captioned(frame: Image.Image, step: dict) -> Image.Image:
    """The frame enlarged to at least 128 px wide over a caption of step and guidance. The caption
    also keeps consecutive frames distinct, which GIF writers would otherwise merge into one."""
    scale = max(1, math.ceil(128 / frame.width))
    out = Image.new("RGB", (frame.width * scale, frame.height * scale + _LABEL_H), (24, 24, 24))
    out.paste(frame.resize((frame.width * scale, frame.height * scale), Image.Resampling.NEAREST))
    text = f"step {step['step'] + 1}/{step['total']}  g {step['guidance']:g}"
    ImageDraw.Draw(out).text((3, out.height - _LABEL_H + 1), text, fill="white", font=ImageFont.load_default())
    return out


def _write_mp4(frames: list[Image.Image], path: Path) -> bool:
    """H.264 through imageio-ffmpeg's bundled binary when the optional extra is installed."""
    try:
        import imageio_ffmpeg
    except ImportError:
        return False
    scale = max(1, math.ceil(256 / frames[0].width))
    size = (math.ceil(frames[0].width * scale / 16) * 16, math.ceil(frames[0].height * scale / 16) * 16)
    writer = imageio_ffmpeg.write_frames(str(path), size, fps=1000 / FRAME_MS, macro_block_size=16)
    writer.send(None)
    for frame in frames:
        writer.send(frame.resize(size, Image.Resampling.NEAREST).tobytes())
    writer.close()
    return True

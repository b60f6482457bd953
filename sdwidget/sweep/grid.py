"""``grid.png``: every final of a sweep in one captioned contact sheet, and ``grid.json``, where each sits.

A row per prompt while the seeds fit in one (up to 16), so a row reads as "this prompt across
seeds" and a column as "this seed across prompts"; a square grid otherwise. Each cell is the
image, at least 128 px wide (so its caption is legible) and at most 256 px (so 200 items
stay a picture, not a poster), over a strip captioned with the seed and the start of the prompt.
``grid.json`` maps every cell back to its item, for a viewer that opens a clicked item.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from ..gallery import read_bounded
from .folder import SweepFolder, atomic_write

LABEL_H = 14
CELL_MIN, CELL_MAX = 128, 256
ROW_PER_PROMPT_UP_TO = 16
BACKGROUND = (24, 24, 24)
MAX_IMAGE_BYTES = 32 << 20
MAX_SIDE = 4096  # validate.MAX_SIDE: no run makes a larger final


def caption(record: dict[str, Any]) -> str:
    """Seed first (it tells the cells of one prompt apart), then the prompt; a failure says so."""
    text = f"s{record['seed']}  {record['prompt']}"
    return text if record.get("image") else f"s{record['seed']}  failed: {record['prompt']}"


def caption_strip(text: str, width: int) -> Image.Image:
    """``text`` drawn on a strip ``width`` wide, cut short with '..' where it does not fit."""
    font = ImageFont.load_default()
    if font.getlength(text) > width - 6:
        while text and font.getlength(text + "..") > width - 6:
            text = text[:-1]
        text = text.rstrip() + ".."
    strip = Image.new("RGB", (width, LABEL_H), BACKGROUND)
    ImageDraw.Draw(strip).text((3, 1), text, fill="white", font=font)
    return strip


def _thumbnail(image: Image.Image, width: int) -> Image.Image:
    height = max(1, round(image.height * width / image.width))
    # Small images are enlarged by whole pixels (crisp); large ones reduced smoothly.
    resample = Image.Resampling.NEAREST if width >= image.width else Image.Resampling.LANCZOS
    return image.convert("RGB").resize((width, height), resample)


def write_grid(folder: SweepFolder, records: list[dict[str, Any]], seeds: int) -> Path:
    """Main process only, once every item is done. ``seeds``: how many seeds each prompt has."""
    if not records:
        raise ValueError("no item of the sweep was rendered, so there is no grid to draw")
    images = [_open(folder, r["name"]) if r.get("image") else None for r in records]
    shown = [im for im in images if im is not None]
    natural = max((im.width for im in shown), default=CELL_MIN)
    width = min(CELL_MAX, max(CELL_MIN, natural if natural >= CELL_MIN else natural * math.ceil(CELL_MIN / natural)))
    height = max((round(im.height * width / im.width) for im in shown), default=width)
    columns = seeds if seeds <= ROW_PER_PROMPT_UP_TO else math.ceil(math.sqrt(len(records)))
    rows = math.ceil(len(records) / columns)
    sheet = Image.new("RGB", (columns * width, rows * (height + LABEL_H)), BACKGROUND)
    cells = []
    for i, (record, image) in enumerate(zip(records, images, strict=True)):
        x, y = (i % columns) * width, (i // columns) * (height + LABEL_H)
        if image is not None:
            sheet.paste(_thumbnail(image, width), (x, y))
        text = caption(record)
        sheet.paste(caption_strip(text, width), (x, y + height))
        cells.append({"item": record["item"], "name": record["name"], "box": [x, y, width, height], "caption": text})
    out = io.BytesIO()
    sheet.save(out, format="PNG")
    atomic_write(folder.path / "grid.png", out.getvalue())
    layout = {"columns": columns, "cell": [width, height + LABEL_H], "label_height": LABEL_H, "items": cells}
    atomic_write(folder.path / "grid.json", json.dumps(layout, indent=1).encode())
    return folder.path / "grid.png"


def _open(folder: SweepFolder, name: str) -> Image.Image | None:
    """An item's final by its own name (never a path a record gives), read as ``images/NAME.png``
    is written: a regular file in the folder, within a size limit, at most ``MAX_SIDE`` a side."""
    try:
        data = read_bounded(folder.images, f"{name}.png", MAX_IMAGE_BYTES)
        with Image.open(io.BytesIO(data)) as image:
            if max(image.size) > MAX_SIDE:
                return None
            return image.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None  # removed or damaged since it was recorded: an empty cell, still captioned

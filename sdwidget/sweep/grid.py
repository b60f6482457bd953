"""``grid.png``: every final of a sweep in one captioned contact sheet, and ``grid.json``, where each sits.

A row per prompt while the seeds fit in one (up to 16), so a row reads as "this prompt across
seeds" and a column as "this seed across prompts"; a square grid otherwise. Each cell is the
image, at least 128 px wide (so its caption is legible) and at most 256 px (so 200 items
stay a picture, not a poster), over a strip captioned with the seed and the start of the prompt.
``grid.json`` maps every cell back to its item, for a viewer that opens a clicked item.

Big sweeps: a 1,000-item sweep of 512 px images made a 70.8-Mpixel grid the widget refused
(64 Mpixel). ``grid.png`` now always fits that limit: its cells shrink as far as needed, and
then the full-size cells go to pages of ``PAGE_ITEMS`` (``grid-page-001.png`` with its
``grid-page-001.json``, the same layout). Images are opened one at a time, so drawing the grid
costs one image's memory plus the sheets, not every final at once.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from ..gallery import read_bounded
from .files import atomic_write
from .folder import SweepFolder

LABEL_H = 14
CELL_MIN, CELL_MAX = 128, 256
ROW_PER_PROMPT_UP_TO = 16
BACKGROUND = (24, 24, 24)
MAX_IMAGE_BYTES = 32 << 20
MAX_SIDE = 4096  # validate.MAX_SIDE: no run makes a larger final
MAX_PIXELS = 1 << 26
"""The widget's limit for grid.png (``widget.sweeps.MAX_GRID_PIXELS``): any sweep's grid opens."""
CELL_FLOOR = 16
PAGE_ITEMS, PAGE_COLUMNS = 256, 16


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
    """Main process only, once every item is done. ``seeds``: how many seeds each prompt has.
    ``grid.png`` always fits ``MAX_PIXELS`` (its cells shrink); when they had to, the full-size
    cells are also written as pages, ``grid-page-NNN.png`` and ``.json``, ``PAGE_ITEMS`` each."""
    if not records:
        raise ValueError("no item of the sweep was rendered, so there is no grid to draw")
    sizes = [_size(folder, r["name"]) if r.get("image") else None for r in records]
    shown = [size for size in sizes if size is not None]
    natural = max((w for w, _ in shown), default=CELL_MIN)
    width = min(CELL_MAX, max(CELL_MIN, natural if natural >= CELL_MIN else natural * math.ceil(CELL_MIN / natural)))

    def tall(w: int) -> int:  # the cells' height at width w: the tallest image's
        return max((round(ih * w / iw) for iw, ih in shown), default=w)

    columns = seeds if seeds <= ROW_PER_PROMPT_UP_TO else math.ceil(math.sqrt(len(records)))
    rows = math.ceil(len(records) / columns)
    fitted = width
    while fitted > CELL_FLOOR and columns * fitted * rows * (tall(fitted) + LABEL_H) > MAX_PIXELS:
        fitted -= 1
    _draw(folder, records, columns, fitted, tall(fitted), "grid")
    if fitted < width:  # the overview's cells are small: the full-size ones, a page at a time
        per_page = min(columns, PAGE_COLUMNS)
        for page, start in enumerate(range(0, len(records), PAGE_ITEMS), 1):
            chunk = records[start : start + PAGE_ITEMS]
            _draw(folder, chunk, per_page, width, tall(width), f"grid-page-{page:03d}")
    return folder.path / "grid.png"


def _draw(folder: SweepFolder, records: list[dict[str, Any]], columns: int, width: int, height: int, name: str) -> None:
    """``NAME.png`` and ``NAME.json`` (the layout ``grid.json`` always had): one image open at a time."""
    rows = math.ceil(len(records) / columns)
    sheet = Image.new("RGB", (columns * width, rows * (height + LABEL_H)), BACKGROUND)
    cells = []
    for i, record in enumerate(records):
        x, y = (i % columns) * width, (i // columns) * (height + LABEL_H)
        image = _open(folder, record["name"]) if record.get("image") else None
        if image is not None:
            sheet.paste(_thumbnail(image, width), (x, y))
        text = caption(record)
        sheet.paste(caption_strip(text, width), (x, y + height))
        cells.append({"item": record["item"], "name": record["name"], "box": [x, y, width, height], "caption": text})
    out = io.BytesIO()
    sheet.save(out, format="PNG")
    atomic_write(folder.path / f"{name}.png", out.getvalue())
    layout = {"columns": columns, "cell": [width, height + LABEL_H], "label_height": LABEL_H, "items": cells}
    atomic_write(folder.path / f"{name}.json", json.dumps(layout, indent=1).encode())


def _size(folder: SweepFolder, name: str) -> tuple[int, int] | None:
    image = _open(folder, name, header_only=True)
    return None if image is None else image.size


def _open(folder: SweepFolder, name: str, header_only: bool = False) -> Image.Image | None:
    """An item's final by its own name (never a path a record gives), read as ``images/NAME.png``
    is written: a regular file in the folder, within a size limit, at most ``MAX_SIDE`` a side."""
    try:
        data = read_bounded(folder.images, f"{name}.png", MAX_IMAGE_BYTES)
        with Image.open(io.BytesIO(data)) as image:
            if max(image.size) > MAX_SIDE:
                return None
            return image if header_only else image.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None  # removed or damaged since it was recorded: an empty cell, still captioned

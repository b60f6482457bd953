"""Frames on the wire: small ones exact as PNG, large ones WebP within 16 KB."""

import io

import numpy as np
from PIL import Image

from sdwidget.widget.sender import WIRE_LIMIT, encode


def noisy(size: int, seed: int) -> Image.Image:
    """Smooth colour fields plus grain: an x0 preview of a detailed SD image is like this."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.stack([np.sin(7 * x + seed), np.cos(5 * y), np.sin(3 * (x + y))], axis=-1) * 80 + 128
    return Image.fromarray(np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8))


def test_a_detailed_128_px_frame_goes_as_webp_within_the_limit_and_close():
    image = noisy(128, 1)
    png = io.BytesIO()
    image.save(png, format="PNG", compress_level=1)
    assert png.tell() > WIRE_LIMIT  # the case that needs it
    data = encode(image)
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) <= WIRE_LIMIT
    back = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32)
    assert np.abs(back - np.asarray(image, dtype=np.float32)).mean() < 12


def test_a_small_frame_stays_exact_png():
    image = noisy(64, 2)
    data = encode(image)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), np.asarray(image))

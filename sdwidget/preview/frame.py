"""A step's thumbnail as it leaves the device: what every preview produces."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True, eq=False)
class Frame:
    """A step's thumbnail: ``height × width × 3`` uint8 RGB on the host.

    On a GPU the copy to the host is non-blocking; ``ready`` is the CUDA event that marks its
    arrival, waited for only by whoever reads the pixels, never by the step callback. A frame a
    worker is still decoding (``DecodedPreview``) has a ``ready`` of the same kind.
    """

    pixels: torch.Tensor
    ready: Any = None

    def numpy(self) -> np.ndarray:
        if self.ready is not None:
            self.ready.synchronize()
        return self.pixels.numpy()

    def image(self) -> Any:
        """The frame as a PIL image."""
        from PIL import Image

        return Image.fromarray(self.numpy(), "RGB")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels, like PIL (once they are there: see ``ready``)."""
        height, width = self.numpy().shape[:2]
        return int(width), int(height)

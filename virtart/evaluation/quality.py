"""Style and content distance of a stylised region, under a fixed perceptual network.

The definitions do not depend on any engine's loss weights, working size or optimiser, so
any two runs (two engines, two settings) can be compared:

* **style distance**: for each of ``relu1_1 .. relu5_1``, the relative Frobenius distance
  ``||G_result - G_painting|| / ||G_painting||`` between the result's Gram matrix *inside the
  region* (guided Gram, Gatys et al. 2017: positions weighted by the mask resized to the
  layer) and the whole painting's Gram; averaged over the five layers.
* **content distance**: ``||m * (F_result - F_photo)|| / ||m * F_photo||`` at ``relu4_2``,
  with ``m`` the region's mask at that layer: how far the result has moved from the photo
  inside the region.

Images are ``(H, W, 3) uint8`` RGB; the photo, result and mask share one frame (the mask
``(H, W) float32`` in ``[0, 1]``). All three are resized so the long side is ``long_side``
(at most; never larger than the photo) and the painting to the same long side, then evaluated in fp32 without gradients. Lower is better for
style; content distance is 0 for the photo itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from virtart.engines.losses import guided_gram, layer_masks
from virtart.errors import VirtArtError
from virtart.models.vgg import CONTENT_TAP, STYLE_TAPS, VGGFeatures, normalize

EVALUATION_LONG_SIDE = 512
PAINTINGS_CACHED = 8


@dataclass
class QualityScore:
    """Distances of one result: ``style`` (mean over layers), ``content``, and ``style_layers``."""

    style: float
    content: float
    style_layers: dict[str, float]

    def as_dict(self) -> dict:
        return {"style": round(self.style, 5), "content": round(self.content, 5),
                "style_layers": {name: round(value, 5) for name, value in self.style_layers.items()}}


def _resized(image: np.ndarray, long_side: int, interpolation: int = cv2.INTER_AREA) -> np.ndarray:
    height, width = image.shape[:2]
    scale = long_side / max(height, width)
    if scale == 1.0:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=interpolation if scale < 1 else cv2.INTER_CUBIC)


def check_inputs(photo: np.ndarray, result: np.ndarray, mask: np.ndarray, painting: np.ndarray) -> None:
    """Raise :class:`VirtArtError` unless the four arrays fit together as documented above."""
    for name, image in (("photo", photo), ("result", result), ("painting", painting)):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise VirtArtError(f"the {name} must be an (H, W, 3) uint8 RGB array")
    if result.shape != photo.shape:
        raise VirtArtError(f"the result is {result.shape[1]}x{result.shape[0]}, the photo {photo.shape[1]}x{photo.shape[0]}")
    if mask.shape != photo.shape[:2]:
        raise VirtArtError("the mask must have the photo's height and width")
    if not np.any(mask >= 0.5):
        raise VirtArtError("the region is empty")


class QualityEvaluator:
    """Scores results with one read-only perceptual network (re-entrant: no state per call)."""

    def __init__(self, network: VGGFeatures, long_side: int = EVALUATION_LONG_SIDE, device: str = "cpu") -> None:
        self.network, self.long_side, self.device = network, long_side, torch.device(device)
        self._painting_grams: dict[str, dict[str, torch.Tensor]] = {}

    @classmethod
    def offline(cls, long_side: int = EVALUATION_LONG_SIDE, device: str = "cpu") -> QualityEvaluator:
        """The evaluator on the offline VGG-16 (available wherever PyPI is), whatever the engines use."""
        from virtart.models.vgg import load_perceptual_network

        return cls(load_perceptual_network("vgg16-offline", device).features, long_side, device)

    def _tensor(self, image: np.ndarray) -> torch.Tensor:
        return normalize(torch.from_numpy(image).to(self.device).permute(2, 0, 1)[None].float().div(255.0))

    @torch.no_grad()
    def painting_grams(self, painting: np.ndarray, long_side: int) -> dict[str, torch.Tensor]:
        """The painting's Gram matrices per style tap at ``long_side`` (a few cached by their bytes)."""
        key = hashlib.sha1(painting.tobytes() + str((painting.shape, long_side)).encode()).hexdigest()
        if key not in self._painting_grams:
            if len(self._painting_grams) >= PAINTINGS_CACHED:
                self._painting_grams.pop(next(iter(self._painting_grams)))
            features = self.network(self._tensor(_resized(painting, long_side)), STYLE_TAPS)
            self._painting_grams[key] = {name: guided_gram(value.float()) for name, value in features.items()}
        return self._painting_grams[key]

    @torch.no_grad()
    def score(self, photo: np.ndarray, result: np.ndarray, mask: np.ndarray, painting: np.ndarray) -> QualityScore:
        """Style and content distance of ``result`` inside ``mask`` (see the module's definitions)."""
        check_inputs(photo, result, mask, painting)
        long_side = min(self.long_side, max(photo.shape[:2]))
        photo_t = self._tensor(_resized(photo, long_side))
        result_t = self._tensor(_resized(result, long_side))
        mask_t = torch.from_numpy(_resized(mask.astype(np.float32), long_side)).to(self.device)[None, None]
        taps = STYLE_TAPS + (CONTENT_TAP,)
        result_features = self.network(result_t, taps)
        masks = layer_masks(mask_t.clamp(0, 1), {n: tuple(f.shape[-2:]) for n, f in result_features.items()})
        targets = self.painting_grams(painting, long_side)
        style_layers = {}
        for name in STYLE_TAPS:
            gram = guided_gram(result_features[name].float(), masks[name])
            style_layers[name] = float(torch.linalg.norm(gram - targets[name]) / torch.linalg.norm(targets[name]).clamp_min(1e-12))
        content_mask = masks[CONTENT_TAP]
        photo_content = self.network(photo_t, (CONTENT_TAP,))[CONTENT_TAP].float()
        moved = torch.linalg.norm(content_mask * (result_features[CONTENT_TAP].float() - photo_content))
        content = float(moved / torch.linalg.norm(content_mask * photo_content).clamp_min(1e-12))
        return QualityScore(float(np.mean(list(style_layers.values()))), content, style_layers)


def within_fraction(times: list[float], values: list[float], fraction: float = 0.02) -> float | None:
    """The first time from which ``values`` stay within ``fraction`` of the last value.

    ``times`` and ``values`` are a run's trajectory in order; None when empty.
    """
    if not values:
        return None
    final = values[-1]
    first = len(values) - 1
    for index in range(len(values) - 1, -1, -1):
        if abs(values[index] - final) > fraction * abs(final):
            break
        first = index
    return times[first]


"""Segment Anything (SAM ViT-B/L/H, MobileSAM) behind the :class:`Segmenter` interface.

Coordinate frames: clicks and boxes arrive in the original photo's pixels ``(x, y)``;
``ResizeLongestSide`` maps them into the model's input frame, where the photo is resized so
its long side is 1024 px and padded bottom/right to ``1024 x 1024``. The mask decoder
answers with ``(1, C, 256, 256)`` low-res logits over that padded frame; we crop the
padding and upsample to the photo (or to a working size for huge photos, then resize).

Re-entrant: :class:`SamSegmenter` never uses ``SamPredictor`` (which keeps the current
image on the object). Image embeddings live in a bounded, thread-safe LRU keyed by image
content hash and are handed to the caller inside :class:`ImageState`; the previous low-res
logits travel in :attr:`Prediction.extra`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from segment_anything.utils.transforms import ResizeLongestSide

from virtart import checkpoints
from virtart.errors import VirtArtError
from virtart.masks import resize_mask
from virtart.segmentation.base import Box, ImageState, Point, Prediction, Stroke, check_prompts, image_key
from virtart.segmentation.corrections import grow_to_hold, local_correction, newest_prompts
from virtart.segmentation.prompts import stroke_points

# Photos above this many pixels get their mask computed at a working size, then resized.
MAX_MASK_PIXELS = 16_000_000
PRIOR_CLICKS = 2  # a detector prior box joins SAM's prompt for this many clicks at most
PRIOR_GROW = 0.1  # an include click outside the prior grows it this much of its long side beyond


@dataclass(frozen=True)
class SamImage:
    """SAM's view of one photo: ``embedding`` is ``(1, C, 64, 64)`` on the model's device;
    ``input_size`` is the ``(height, width)`` of the resized photo inside the padded 1024 frame;
    ``backend`` names the model that made it (embeddings do not transfer between models)."""

    embedding: torch.Tensor
    input_size: tuple[int, int]
    backend: str


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


class SamSegmenter:
    """Click and box segmentation with a SAM-style model.

    ``model`` is any module with ``image_encoder`` (with ``img_size``), ``prompt_encoder``,
    ``mask_decoder``, ``pixel_mean`` and ``pixel_std``: segment-anything's ``Sam`` or
    ultralytics' ``SAMModel`` (MobileSAM). ``cache_size`` bounds the embeddings kept.
    """

    def __init__(self, model: torch.nn.Module, *, name: str = "sam-vit-b", device: str | None = None,
                 cache_size: int = 8) -> None:
        self.name = name
        self.device = torch.device(device or default_device())
        self.model = model.eval().to(self.device)
        self.image_size = int(model.image_encoder.img_size)
        self.transform = ResizeLongestSide(self.image_size)
        self.cache_size = max(1, cache_size)
        self._cache: OrderedDict[str, SamImage] = OrderedDict()
        self._pending: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    # -- image embedding -------------------------------------------------------------------

    def set_image(self, image: np.ndarray) -> ImageState:
        """Embed an ``(H, W, 3) uint8`` RGB photo (once per content hash) and return its state."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise VirtArtError(f"expected an (H, W, 3) uint8 RGB image, got {image.dtype} {image.shape}")
        height, width = image.shape[:2]
        short = min(height, width) * self.image_size / max(height, width)
        if int(short + 0.5) < 1:
            raise VirtArtError(f"the {width}x{height} image is too thin to segment (aspect ratio over 2000:1)")
        key = image_key(image)
        return ImageState(key, (width, height), self._embedding(key, image))

    def _embedding(self, key: str, image: np.ndarray) -> SamImage:
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            pending = self._pending.setdefault(key, threading.Lock())
        with pending:  # threads asking for the same photo wait for one encoder run
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
            try:
                embedded = self._encode(image)
                with self._lock:
                    self._cache[key] = embedded
                    while len(self._cache) > self.cache_size:
                        self._cache.popitem(last=False)
            finally:
                with self._lock:
                    self._pending.pop(key, None)
        return embedded

    @torch.inference_mode()
    def _encode(self, image: np.ndarray) -> SamImage:
        resized = self.transform.apply_image(image)  # long side = image_size
        pixels = torch.as_tensor(resized, device=self.device).permute(2, 0, 1)[None].float()
        pixels = (pixels - self.model.pixel_mean) / self.model.pixel_std
        input_size = (pixels.shape[-2], pixels.shape[-1])
        pixels = F.pad(pixels, (0, self.image_size - input_size[1], 0, self.image_size - input_size[0]))
        return SamImage(self.model.image_encoder(pixels), input_size, self.name)

    def cached_keys(self) -> list[str]:
        """Content hashes whose embeddings are cached, least recently used first."""
        with self._lock:
            return list(self._cache)

    # -- prompts -> mask -------------------------------------------------------------------

    def predict(self, state: ImageState, points: list[Point], box: Box | None = None,
                previous: Prediction | None = None, strokes: tuple[Stroke, ...] = (),
                prior: Box | None = None) -> Prediction:
        """Mask for clicks ``points`` (``(x, y, label)``), ``strokes`` and/or ``box`` in original pixels.

        Strokes become clicks sampled along them (:func:`~virtart.segmentation.prompts.
        stroke_points`), with the previous mask as mask prompt. ``prior`` (the detected object's
        box the first include click fell in, no box given), grown to hold the include clicks,
        is SAM's box prompt while two or fewer clicks were made (SAM cannot weigh a box, so its
        say ends there): later clicks, with the previous logits as mask prompt, then steer it.
        With ``previous`` (an answer on this photo), only the change connected to the newest
        prompts is kept (:func:`~virtart.segmentation.corrections.local_correction`). One click alone: three candidate masks,
        the one with the highest predicted IoU wins. Otherwise one mask, refined from
        ``previous``'s low-res logits when it belongs to the same photo and backend. Returns
        an ``(H, W) float32`` mask in ``{0, 1}``.
        """
        check_prompts(state.size, points, box, strokes)
        newest = newest_prompts(state, points, strokes, previous)
        counts = (len(points), len(strokes))
        points = [*points, *stroke_points(strokes)]
        if box is None and prior is not None and len(points) <= PRIOR_CLICKS:
            outside = [(x, y) for x, y, label in points if label == 1
                       and not (prior[0] <= x <= prior[2] and prior[1] <= y <= prior[3])]
            box = grow_to_hold(prior, outside, PRIOR_GROW)
        if not isinstance(state.data, SamImage) or state.data.backend != self.name:
            raise VirtArtError(f"this image state was not made by the {self.name} segmenter: call set_image again")
        width, height = state.size
        original = (height, width)
        mask_input = _previous_logits(previous, state.key, self.name, self.image_size // 4)
        multimask = len(points) == 1 and box is None and mask_input is None

        with torch.inference_mode():
            point_prompt = None
            if points:
                coords = self.transform.apply_coords(np.array([p[:2] for p in points], dtype=np.float32), original)
                labels = np.array([p[2] for p in points], dtype=np.int64)
                point_prompt = (torch.as_tensor(coords, dtype=torch.float32, device=self.device)[None],
                                torch.as_tensor(labels, dtype=torch.int64, device=self.device)[None])
            box_prompt = None
            if box is not None:
                mapped = self.transform.apply_boxes(np.array(box, dtype=np.float32), original)
                box_prompt = torch.as_tensor(mapped, dtype=torch.float32, device=self.device)
            masks_prompt = None
            if mask_input is not None:
                masks_prompt = torch.as_tensor(mask_input, dtype=torch.float32, device=self.device)[None]

            sparse, dense = self.model.prompt_encoder(points=point_prompt, boxes=box_prompt, masks=masks_prompt)
            low_res, iou_predictions = self.model.mask_decoder(
                image_embeddings=state.data.embedding,
                image_pe=self.model.prompt_encoder.get_dense_pe(),
                sparse_prompt_embeddings=sparse,
                dense_prompt_embeddings=dense,
                multimask_output=multimask,
            )
            best = int(torch.argmax(iou_predictions[0]))
            logits = low_res[:, best : best + 1]  # (1, 1, 256, 256)
            mask = self._upscale(logits, state.data.input_size, original)

        if newest:  # the change connected to the newest prompt only, as the offline segmenter does
            mask = local_correction(previous.mask, mask, newest)
        return Prediction(
            mask=mask,
            score=float(iou_predictions[0, best]),
            backend=self.name,
            extra={"low_res_logits": logits[0].float().cpu().numpy(), "image_key": state.key,
                   "candidates": int(low_res.shape[1]), "prompt_counts": counts},
        )

    def _upscale(self, logits: torch.Tensor, input_size: tuple[int, int], original: tuple[int, int]) -> np.ndarray:
        """Low-res logits over the padded frame -> ``(H, W)`` hard mask at the photo's size."""
        height, width = original
        scale = min(1.0, (MAX_MASK_PIXELS / (height * width)) ** 0.5)
        working = (max(1, round(height * scale)), max(1, round(width * scale)))
        frame = F.interpolate(logits, (self.image_size, self.image_size), mode="bilinear", align_corners=False)
        frame = frame[..., : input_size[0], : input_size[1]]
        frame = F.interpolate(frame, working, mode="bilinear", align_corners=False)
        mask = (frame[0, 0] > 0.0).float().cpu().numpy()
        if working != original:
            mask = (resize_mask(mask, (width, height)) >= 0.5).astype(np.float32)
        return mask


def _previous_logits(previous: Prediction | None, key: str, backend: str, side: int) -> np.ndarray | None:
    """``(1, side, side)`` logits (side 256 for SAM) from the previous prediction, if it was ours for this photo."""
    if previous is None or previous.backend != backend or previous.extra.get("image_key") != key:
        return None
    logits = previous.extra.get("low_res_logits")
    if logits is None or np.shape(logits) != (1, side, side):
        return None
    return np.asarray(logits, dtype=np.float32)


# -- building from checkpoints ---------------------------------------------------------------


def build_segment_anything(arch: str) -> torch.nn.Module:
    """An untrained segment-anything model of ``arch`` ("vit_b", "vit_l" or "vit_h")."""
    from segment_anything import sam_model_registry

    return sam_model_registry[arch](checkpoint=None)


def build_mobile_sam() -> torch.nn.Module:
    """An untrained MobileSAM (TinyViT encoder + SAM decoder) from ultralytics' modules."""
    from virtart import settings

    settings.apply_offline_defaults()
    from ultralytics.models.sam.build import build_mobile_sam as build

    settings.restore_pillow_open()
    return build(checkpoint=None)


def load_state(model: torch.nn.Module, checkpoint: checkpoints.Checkpoint) -> torch.nn.Module:
    """Load a verified checkpoint into ``model``: tensors only (``weights_only=True``), no pickled code."""
    try:
        state = torch.load(checkpoint.path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a file that is not a plain state dict
        raise VirtArtError(f"{checkpoint.path} is not a loadable state dict ({type(exc).__name__})") from None
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise VirtArtError(f"{checkpoint.path} does not fit the '{checkpoint.spec.name}' model: {first}") from None
    return model

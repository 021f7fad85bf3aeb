"""Auto-detected objects: merging and ordering (fast), and real YOLO11n weights (``weights``)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from virtart import masks as mask_ops
from virtart.errors import CheckpointError, VirtArtError, VirtArtWarning
from virtart.evaluation.detect_eval import box_iou, read_polygon_labels
from virtart.geometry import Box
from virtart.segmentation import detect
from virtart.segmentation.detect import Detection, detect_objects, merge_duplicates, sort_largest_first

PERSON_IMAGE = "000000000036.jpg"  # coco128-seg: one person under an umbrella


def rect(x0: int, y0: int, x1: int, y1: int, size: tuple[int, int] = (100, 80)) -> np.ndarray:
    mask = np.zeros((size[1], size[0]), np.float32)
    mask[y0:y1, x0:x1] = 1.0
    return mask


def obj(label: str, score: float, box: tuple[int, int, int, int]) -> Detection:
    return Detection(label, score, tuple(float(v) for v in box), rect(*box))


def test_duplicates_of_one_class_merge_into_the_most_confident() -> None:
    objects = [obj("dog", 0.6, (10, 10, 50, 50)), obj("dog", 0.9, (12, 10, 52, 50)),
               obj("cat", 0.8, (10, 10, 50, 50)), obj("dog", 0.7, (60, 10, 90, 40))]
    merged = merge_duplicates(objects)
    assert [(o.label, o.score) for o in merged] == [("dog", 0.9), ("cat", 0.8), ("dog", 0.7)]
    assert merged[0].box == (10.0, 10.0, 52.0, 50.0)
    assert mask_ops.iou(merged[0].mask, rect(10, 10, 52, 50)) == 1.0
    assert objects[1].box == (12.0, 10.0, 52.0, 50.0)  # inputs are not modified


def test_objects_come_largest_first() -> None:
    objects = [obj("cup", 0.9, (0, 0, 10, 10)), obj("person", 0.5, (0, 0, 60, 60)), obj("dog", 0.7, (0, 0, 30, 30))]
    assert [o.label for o in sort_largest_first(objects)] == ["person", "dog", "cup"]
    assert objects[1].describe() == {"label": "person", "score": 0.5, "box": [0.0, 0.0, 60.0, 60.0], "area": 3600,
                                      "mask_source": ""}


class StubDetector:
    """Stands in for YOLO's boxes only; the masks still come from a real segmenter."""

    names = {0: "person", 16: "dog"}
    model_name = "stub"

    def __init__(self, found) -> None:
        self.found = found

    def detect(self, image, classes=None, min_score=0.25, image_size=960, augment=False):
        return [detect.Detection(*f) for f in self.found if f[1] >= min_score]


@pytest.mark.filterwarnings("ignore::virtart.errors.VirtArtWarning")  # the tiny dog box may come back empty
def test_each_box_prompts_the_segmenter(monkeypatch, small_photo) -> None:
    from virtart.segmentation.offline import OfflineSegmenter

    found = [("person", 0.9, (16.0, 12.0, 48.0, 36.0)), ("person", 0.8, (17.0, 12.0, 48.0, 36.0)),
             ("dog", 0.5, (2.0, 2.0, 10.0, 10.0))]
    monkeypatch.setattr(detect, "get_detector", lambda: StubDetector(found))
    objects = detect_objects(small_photo, segmenter=OfflineSegmenter())
    assert [o.label for o in objects][0] == "person"
    assert sum(o.label == "person" for o in objects) == 1  # the two overlapping boxes merged
    person = objects[0]
    assert person.mask.shape == small_photo.shape[:2]
    assert mask_ops.iou(person.mask, rect(16, 12, 48, 36, size=(64, 48))) > 0.8  # the red square


class BoxBlindSegmenter:
    """Test double around the real offline segmenter: box-only prompts come back empty."""

    name = "box-blind"

    def __init__(self) -> None:
        from virtart.segmentation.offline import OfflineSegmenter

        self.inner, self.prompts = OfflineSegmenter(), []

    def set_image(self, image):
        return self.inner.set_image(image)

    def predict(self, state, points, box=None, previous=None):
        self.prompts.append((list(points), box))
        prediction = self.inner.predict(state, points, box, previous)
        if not points:
            prediction.mask = np.zeros_like(prediction.mask)
        return prediction


def test_an_empty_box_mask_is_retried_with_a_centre_click(monkeypatch, small_photo) -> None:
    monkeypatch.setattr(detect, "get_detector", lambda: StubDetector([("person", 0.9, (16.0, 12.0, 48.0, 36.0))]))
    segmenter = BoxBlindSegmenter()
    [person] = detect_objects(small_photo, segmenter=segmenter)
    assert segmenter.prompts == [([], (16.0, 12.0, 48.0, 36.0)), ([(32.0, 24.0, 1)], (16.0, 12.0, 48.0, 36.0))]
    assert mask_ops.iou(person.mask, rect(16, 12, 48, 36, size=(64, 48))) > 0.8


def test_a_box_the_segmenter_cannot_cut_gets_its_inscribed_ellipse(monkeypatch, small_photo) -> None:
    box = (16.0, 12.0, 48.0, 36.0)
    monkeypatch.setattr(detect, "get_detector", lambda: StubDetector([("person", 0.9, box)]))
    segmenter = BoxBlindSegmenter()
    monkeypatch.setattr(segmenter, "predict", lambda state, points, box=None, previous=None: type(
        "P", (), {"mask": np.zeros(small_photo.shape[:2], np.float32)})())
    [person] = detect_objects(small_photo, segmenter=segmenter)
    inside = rect(16, 12, 48, 36, size=(64, 48))
    assert mask_ops.subtract(person.mask, inside).sum() == 0
    assert person.area == pytest.approx(np.pi / 4 * inside.sum(), rel=0.1)


def test_nothing_found_is_an_empty_list_and_a_warning(monkeypatch, small_photo) -> None:
    monkeypatch.setattr(detect, "get_detector", lambda: StubDetector([("dog", 0.1, (0.0, 0.0, 9.0, 9.0))]))
    with pytest.warns(VirtArtWarning, match="no objects"):
        assert detect_objects(small_photo, min_score=0.5) == []


def test_bad_arguments_are_clear_errors(small_photo) -> None:
    with pytest.raises(VirtArtError, match="min score"):
        detect_objects(small_photo, min_score=1.5)
    with pytest.raises(VirtArtError, match="uint8 RGB"):
        detect_objects(small_photo[:, :, 0])


def state_sha256(folder, filename: str) -> None:
    """Write ``filename``'s sha256 into ``folder/SHA256SUMS``, as ``sha256sum`` would."""
    from virtart import hub

    with (folder / "SHA256SUMS").open("a") as sums:
        sums.write(f"{hub.file_sha256(folder / filename)}  {filename}\n")


@pytest.fixture(scope="module")
def random_seg_checkpoints(tmp_path_factory):
    """A folder holding ``yolo11n-seg.pt``: YOLO11n-seg built from ultralytics' own config with
    random weights (no checkpoint can be had here), its class biases raised so that it finds
    objects at the usual scores. Its boxes and masks are meaningless, but really computed."""
    import torch

    from virtart import settings

    settings.apply_offline_defaults()
    from ultralytics import YOLO

    torch.manual_seed(0)
    model = YOLO("yolo11n-seg.yaml", task="segment")
    for branch in model.model.model[-1].cv3:
        branch[-1].bias.data.fill_(3.0)
    folder = tmp_path_factory.mktemp("checkpoints")
    model.save(folder / "yolo11n-seg.pt")
    state_sha256(folder, "yolo11n-seg.pt")  # no pinned sha256 for yolo11n-seg: the user states it
    return folder


@pytest.mark.weights
def test_a_segmentation_detector_draws_the_masks_the_offline_segmenter_would(monkeypatch, random_seg_checkpoints,
                                                                              small_photo) -> None:
    from virtart.segmentation.offline import OfflineSegmenter

    monkeypatch.setenv("VIRTART_CHECKPOINTS", str(random_seg_checkpoints))
    detector = detect.Detector("cpu")  # the registry's first choice, found in the user's folder
    assert (detector.model_name, detector.segments) == ("yolo11n-seg", True)
    found = detector.detect(small_photo, min_score=0.25, image_size=64)
    assert found and all(d.mask.shape == small_photo.shape[:2] and d.mask.dtype == np.float32 for d in found)
    assert all(set(np.unique(d.mask)) <= {0.0, 1.0} for d in found)
    monkeypatch.setattr(detect, "get_detector", lambda: detector)
    offline = OfflineSegmenter()
    monkeypatch.setattr(offline, "set_image", lambda image: pytest.fail("the detector's masks need no segmenter"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VirtArtWarning)  # random weights: some masks come back empty
        objects = detect_objects(small_photo, min_score=0.25, segmenter=offline, image_size=64)
        # a SAM (here a box-only stand-in) is still prompted with each box
        boxed = detect_objects(small_photo, min_score=0.25, segmenter=BoxBlindSegmenter(), image_size=64)
    drawn = mask_ops.union(*[d.mask for d in found])
    assert objects and all(o.mask_source == "yolo11n-seg" for o in objects)
    assert all(o.mask.any() and mask_ops.subtract(o.mask, drawn).sum() == 0 for o in objects)
    assert all(o.mask_source == "box-blind" for o in boxed)


def test_without_segmentation_weights_the_box_detector_serves(monkeypatch, tmp_path) -> None:
    from virtart import checkpoints

    monkeypatch.setenv("VIRTART_CHECKPOINTS", str(tmp_path))  # empty: no yolo11n-seg.pt
    tried = []

    def resolve(name):
        tried.append(name)
        raise CheckpointError(f"model '{name}' is not available: test")

    monkeypatch.setattr(checkpoints, "resolve", resolve)
    with pytest.raises(CheckpointError, match="yolo11n-seg.*yolo11n"):
        detect.Detector("cpu")
    assert tried == ["yolo11n-seg", "yolo11n"]


def test_polygon_labels_are_rasterised(tmp_path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("16 0.1 0.1 0.5 0.1 0.5 0.5 0.1 0.5\n\n0 0.6 0.6 0.9 0.6 0.9 0.9\n")
    objects = read_polygon_labels(path, (100, 50))
    assert [class_id for class_id, _ in objects] == [16, 0]
    assert Box.around(objects[0][1]) == (10, 5, 51, 26)
    path.write_text("0 0.1 0.1 0.2\n")
    with pytest.raises(VirtArtError, match="3 \\(x, y\\) pairs"):
        read_polygon_labels(path, (100, 50))


@pytest.fixture(scope="module")
def coco(shared_dir):
    root = shared_dir / "eval" / "coco128-seg"
    if not (root / "images" / "train2017" / PERSON_IMAGE).is_file():
        pytest.skip("coco128-seg is absent")
    return root


@pytest.mark.weights
def test_real_yolo_finds_and_segments_the_person(coco) -> None:
    from virtart.imageio import load_image
    from virtart.segmentation.offline import OfflineSegmenter

    image = load_image(coco / "images" / "train2017" / PERSON_IMAGE)
    truth = read_polygon_labels(coco / "labels" / "train2017" / PERSON_IMAGE.replace(".jpg", ".txt"),
                                (image.shape[1], image.shape[0]))
    person_truth = next(mask for class_id, mask in truth if class_id == 0)
    objects = detect_objects(image, classes=["person"], segmenter=OfflineSegmenter())
    assert objects and all(o.label == "person" for o in objects)
    best = max(objects, key=lambda o: mask_ops.iou(o.mask, person_truth))
    assert best.score > 0.5
    assert mask_ops.iou(best.mask, person_truth) > 0.55  # offline backend: 0.69 when written
    assert box_iou(best.box, Box.around(person_truth)) > 0.85  # 0.89 at 960 px, 0.92 at 640


@pytest.mark.weights
def test_real_yolo_rejects_unknown_classes(small_photo) -> None:
    with pytest.raises(VirtArtError, match="unknown class 'unicorn'"):
        detect_objects(small_photo, classes=["unicorn"])


def test_near_duplicates_merge_by_box_without_masks_and_across_classes_when_asked() -> None:
    boxes_only = [Detection("dog", 0.9, (10.0, 10.0, 50.0, 50.0)), Detection("dog", 0.6, (11.0, 10.0, 51.0, 50.0)),
                  Detection("cat", 0.8, (10.0, 10.0, 50.0, 51.0))]
    assert [o.label for o in merge_duplicates(boxes_only)] == ["dog", "cat"]
    assert [o.label for o in merge_duplicates(boxes_only, any_class=True)] == ["dog"]
    assert len(merge_duplicates(boxes_only, iou=0.99)) == 3  # stricter: nothing is a duplicate

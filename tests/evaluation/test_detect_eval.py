"""``evaluate_detection`` on a tiny labelled folder, with a stub detector (fast, no weights)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from virtart.errors import VirtArtError
from virtart.evaluation import detect_eval
from virtart.evaluation.detect_eval import evaluate_detection
from virtart.segmentation import detect


class RecordingDetector:
    """Stands in for YOLO: the same boxes for every photo; records the settings it was called with."""

    names = {0: "person", 16: "dog"}
    model_name = "stub"

    def __init__(self, found) -> None:
        self.found, self.calls = found, []

    def detect(self, image, classes=None, min_score=0.25, image_size=960, augment=False):
        self.calls.append({"image_size": image_size, "augment": augment})
        return [detect.Detection(*f) for f in self.found if f[1] >= min_score]


class BoxSegmenter:
    """Test double: the mask is the prompt box itself (pixel-exact, so the expected IoUs are known)."""

    name = "box"

    def set_image(self, image):
        return type("State", (), {"size": (image.shape[1], image.shape[0])})()

    def predict(self, state, points, box=None, previous=None):
        mask = np.zeros((state.size[1], state.size[0]), np.float32)
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        mask[y0:y1, x0:x1] = 1.0
        return type("Prediction", (), {"mask": mask})()


@pytest.fixture
def folder(tmp_path, small_photo):
    """Three 64x48 photos, each labelled with a person at (16, 12)-(48, 36) and a dog at (0, 0)-(8, 8)."""
    images, labels = tmp_path / "images", tmp_path / "labels"
    images.mkdir()
    labels.mkdir()
    for name in ("a", "b", "c"):
        Image.fromarray(small_photo).save(images / f"{name}.png")
        (labels / f"{name}.txt").write_text("0 0.25 0.25 0.75 0.25 0.75 0.75 0.25 0.75\n"
                                            "16 0 0 0.125 0 0.125 0.1667 0 0.1667\n")
    return images, labels


def test_precision_counts_objects_that_match_no_label(monkeypatch, folder) -> None:
    found = [("person", 0.9, (16.0, 12.0, 48.0, 36.0)), ("dog", 0.8, (50.0, 38.0, 62.0, 46.0))]
    detector = RecordingDetector(found)
    monkeypatch.setattr(detect, "get_detector", lambda: detector)
    monkeypatch.setattr(detect_eval, "get_detector", lambda: detector)
    report = evaluate_detection(*folder, segmenter=BoxSegmenter())
    assert report["images"] == 3 and report["objects"] == 6
    assert report["people_and_animals"]["detected_fraction"] == 0.5  # the person, never the dog
    assert report["per_class"]["person"]["mean_best_iou"] > 0.9
    assert report["precision"] == 0.5  # the dog box lies on no labelled object
    assert report["objects_per_image"] == 2.0
    # the defaults a user of `virtart detect` gets are the ones the report states
    assert detector.calls[0] == {"image_size": detect.IMAGE_SIZE, "augment": detect.AUGMENT}
    assert (report["image_size"], report["augment"]) == (detect.IMAGE_SIZE, detect.AUGMENT)


def test_subsets_take_every_other_image(monkeypatch, folder) -> None:
    detector = RecordingDetector([("person", 0.9, (16.0, 12.0, 48.0, 36.0))])
    monkeypatch.setattr(detect, "get_detector", lambda: detector)
    monkeypatch.setattr(detect_eval, "get_detector", lambda: detector)
    even = evaluate_detection(*folder, segmenter=BoxSegmenter(), subset="even", augment=False)
    odd = evaluate_detection(*folder, segmenter=BoxSegmenter(), subset="odd", augment=False)
    assert [row["image"] for row in even["per_image"]] == ["a.png", "c.png"]
    assert [row["image"] for row in odd["per_image"]] == ["b.png"]
    assert even["subset"] == "even" and detector.calls[-1]["augment"] is False
    with pytest.raises(VirtArtError, match="subset"):
        evaluate_detection(*folder, segmenter=BoxSegmenter(), subset="third")


def test_a_folder_of_masks_is_ground_truth_with_the_class_in_the_name(monkeypatch, tmp_path, small_photo) -> None:
    """coco_mval_dev's layout: one 0/255 mask per image, named by class and number."""
    images, masks = tmp_path / "images", tmp_path / "gt"
    images.mkdir()
    masks.mkdir()
    truth = np.zeros(small_photo.shape[:2], np.uint8)
    truth[12:36, 16:48] = 255
    for name in ("dog01_0001", "dog02_0002", "person00_0003"):
        Image.fromarray(small_photo).save(images / f"{name}.jpg")
        Image.fromarray(truth).save(masks / f"{name}.png")
    detector = RecordingDetector([("person", 0.9, (16.0, 12.0, 48.0, 36.0))])
    monkeypatch.setattr(detect, "get_detector", lambda: detector)
    monkeypatch.setattr(detect_eval, "get_detector", lambda: detector)
    report = evaluate_detection(images, masks, segmenter=BoxSegmenter())
    assert report["objects"] == 3 and set(report["per_class"]) == {"dog", "person"}
    assert report["per_class"]["dog"]["mean_best_iou"] > 0.9 and report["per_class"]["dog"]["objects"] == 2
    every_other = evaluate_detection(images, masks, segmenter=BoxSegmenter(), every=2)
    assert [row["image"] for row in every_other["per_image"]] == ["dog01_0001.jpg", "person00_0003.jpg"]
    assert detect_eval.class_from_name("tennis racket07_000000410496") == "tennis racket"

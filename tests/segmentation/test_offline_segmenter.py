"""The checkpoint-free click segmenter on small synthetic photos (and a few GrabCut images if present)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.threads import run_in_threads
from virtart.errors import VirtArtError
from virtart.evaluation.click_protocol import masked_iou, run_image, split_ground_truth
from virtart.segmentation.offline import OfflineSegmenter


def scene(height=120, width=160, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """A red disc on a noisy two-tone background, and its true mask."""
    rng = np.random.default_rng(seed)
    image = np.zeros((height, width, 3), np.float32)
    image[:, : width // 2] = (60, 110, 60)
    image[:, width // 2 :] = (70, 70, 140)
    yy, xx = np.mgrid[0:height, 0:width]
    disc = (xx - width * 0.45) ** 2 + (yy - height * 0.5) ** 2 <= (min(height, width) * 0.28) ** 2
    image[disc] = (210, 60, 50)
    image += rng.normal(0, 8, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), disc


def iou(mask: np.ndarray, truth: np.ndarray) -> float:
    return masked_iou(mask >= 0.5, truth, np.zeros_like(truth))


@pytest.fixture(scope="module")
def segmenter() -> OfflineSegmenter:
    return OfflineSegmenter()


def test_one_click_finds_the_object(segmenter):
    image, disc = scene()
    state = segmenter.set_image(image)
    prediction = segmenter.predict(state, [(72, 60, 1)])
    assert prediction.mask.shape == disc.shape and prediction.mask.dtype == np.float32
    assert set(np.unique(prediction.mask)) <= {0.0, 1.0}
    assert prediction.backend == "offline"
    assert iou(prediction.mask, disc) > 0.9


def test_box_alone_finds_the_object(segmenter):
    image, disc = scene()
    ys, xs = np.nonzero(disc)
    box = (xs.min() - 6, ys.min() - 6, xs.max() + 6, ys.max() + 6)
    mask = segmenter.predict(segmenter.set_image(image), [], box=box).mask
    assert iou(mask, disc) > 0.9
    assert mask[:, : int(box[0])].sum() == 0  # nothing outside the box


def test_small_box_is_segmented_in_an_enlarged_crop(segmenter):
    """A box a few superpixels wide on a big photo: the crop path still outlines the disc."""
    rng = np.random.default_rng(1)
    image = np.clip(rng.normal(120, 25, (480, 640, 3)), 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[0:480, 0:640]
    disc = (xx - 400) ** 2 + (yy - 150) ** 2 <= 11**2
    image[disc] = (220, 40, 40)
    box = (385.0, 135.0, 416.0, 166.0)
    mask = segmenter.predict(segmenter.set_image(image), [], box=box).mask
    assert mask.shape == disc.shape
    assert iou(mask, disc) > 0.8
    assert mask[:135].sum() == 0 and mask[:, 417:].sum() == 0  # nothing outside the box


def test_a_small_box_favours_its_middle_over_its_corners(segmenter):
    """The zoomed path's shape prior: object costs less at the box's centre than in its corners."""
    from virtart.segmentation.offline import _box_shape_cost

    image = np.full((120, 160, 3), 128, np.uint8)
    working = segmenter.set_image(image).data
    box = (40.0, 30.0, 120.0, 90.0)
    cost = _box_shape_cost(working, box, 0.1)
    centroid = working.graph.centroid
    middle = np.argmin(((centroid - (80, 60)) ** 2).sum(axis=1))
    corner = np.argmin(((centroid - (42, 32)) ** 2).sum(axis=1))
    assert cost[middle] < 0 < cost[corner]
    assert np.all(np.abs(cost) <= 0.1 * working.graph.area * np.log(49) + 1e-3)


def test_exclude_click_removes_a_region(segmenter):
    image, disc = scene()
    state = segmenter.set_image(image)
    mask = segmenter.predict(state, [(72, 60, 1), (72, 40, 0)]).mask
    assert mask[40, 72] == 0 and mask[60, 72] == 1


def test_contradictory_clicks_give_a_mask_not_a_crash(segmenter):
    image, _ = scene()
    state = segmenter.set_image(image)
    mask = segmenter.predict(state, [(72, 60, 1), (72, 60, 0)]).mask
    assert mask.shape == image.shape[:2]
    assert mask[60, 72] == 0  # the latest click wins


def test_bad_prompts_raise_clear_errors(segmenter):
    image, _ = scene()
    state = segmenter.set_image(image)
    with pytest.raises(VirtArtError, match="no clicks"):
        segmenter.predict(state, [])
    with pytest.raises(VirtArtError, match="outside"):
        segmenter.predict(state, [(500, 10, 1)])
    with pytest.raises(VirtArtError, match="zero area"):
        segmenter.predict(state, [], box=(10, 10, 10, 50))
    with pytest.raises(VirtArtError, match="uint8"):
        segmenter.set_image(np.zeros((10, 10), np.uint8))


def test_state_is_cached_by_content_in_a_bounded_lru():
    segmenter = OfflineSegmenter(cache_size=2)
    images = [scene(seed=s)[0] for s in range(3)]
    first = segmenter.set_image(images[0])
    assert segmenter.set_image(images[0].copy()).data is first.data  # same content, no recompute
    segmenter.set_image(images[1])
    segmenter.set_image(images[2])
    assert len(segmenter._cache) == 2 and first.key not in segmenter._cache


def test_huge_image_is_segmented_at_working_size_and_scaled_back():
    image, disc = scene(60, 80)
    big = np.repeat(np.repeat(image, 25, axis=0), 25, axis=1)  # 1500 x 2000
    truth = np.repeat(np.repeat(disc, 25, axis=0), 25, axis=1)
    segmenter = OfflineSegmenter(working_size=256)
    state = segmenter.set_image(big)
    assert state.size == (2000, 1500) and max(state.data.rgb.shape[:2]) == 256
    mask = segmenter.predict(state, [(900, 750, 1)]).mask
    assert mask.shape == (1500, 2000) and iou(mask, truth) > 0.85


def test_tiny_image(segmenter):
    image = np.zeros((6, 5, 3), np.uint8)
    image[2:4, 2:4] = 255
    mask = segmenter.predict(segmenter.set_image(image), [(2, 2, 1)]).mask
    assert mask.shape == (6, 5) and mask[2, 2] == 1


def test_concurrent_users_share_one_segmenter(segmenter):
    image, disc = scene()
    results, errors = {}, []

    def user(index: int) -> None:
        try:
            state = segmenter.set_image(image)
            points = [(72, 60, 1)] if index % 2 == 0 else [(72, 60, 1), (72, 40, 0)]
            results[index] = segmenter.predict(state, points).mask
        except Exception as exc:  # noqa: BLE001 - surfaced by the assert below
            errors.append(exc)

    run_in_threads(user, 6)
    assert not errors
    assert all(np.array_equal(results[i], results[i % 2]) for i in range(6))


def test_previous_prediction_from_another_image_is_ignored(segmenter):
    image_a, _ = scene(seed=1)
    image_b, disc_b = scene(seed=2)
    previous = segmenter.predict(segmenter.set_image(image_a), [(10, 10, 1)])
    mask = segmenter.predict(segmenter.set_image(image_b), [(72, 60, 1)], previous=previous).mask
    assert iou(mask, disc_b) > 0.9


def test_a_few_grabcut_images_reach_high_iou(shared_dir):
    from virtart.imageio import load_image

    folder = shared_dir / "eval" / "grabcut"
    if not folder.is_dir():
        pytest.skip("../shared/eval/grabcut is absent")
    segmenter = OfflineSegmenter()
    for name in ("flower", "sheep"):
        image = load_image(folder / "images" / f"{name}.jpg")
        gt = np.asarray(load_image(folder / "masks" / f"{name}.bmp"))[:, :, 0]
        obj, _ = split_ground_truth(gt)
        result = run_image(segmenter, image, gt, max_clicks=3, name=name)
        assert obj.any() and max(result.ious) > 0.85, (name, result.ious)


def test_eval_clicks_cli_writes_a_report(tmp_path):
    import argparse
    import json

    from PIL import Image

    from virtart.cli import eval_clicks

    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for seed in range(2):
        image, disc = scene(seed=seed)
        Image.fromarray(image).save(tmp_path / "images" / f"s{seed}.png")
        Image.fromarray((disc * 255).astype(np.uint8)).save(tmp_path / "masks" / f"s{seed}.png")
    parser = argparse.ArgumentParser()
    eval_clicks.register(parser.add_subparsers())
    report = tmp_path / "r.json"
    args = parser.parse_args(["eval-clicks", "--images", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"),
                              "--backend", "offline", "--max-clicks", "3", "--report", str(report)])
    assert args.handler(args) == 0
    data = json.loads(report.read_text())
    assert data["backend"] == "offline" and data["images"] == 2
    assert set(data["per_image"]) == {"s0", "s1"} and len(data["per_image"]["s0"]) == 3
    assert data["miou_1click"] > 0.8
    args.preset, args.report = "local", str(tmp_path / "local.json")
    assert args.handler(args) == 0 and json.loads((tmp_path / "local.json").read_text())["preset"] == "local"
    args.preset = "nonsense"
    with pytest.raises(VirtArtError, match="unknown offline preset"):
        args.handler(args)
    args.preset = None
    with pytest.raises(VirtArtError, match="max-clicks"):
        args.max_clicks = 0
        args.handler(args)


def test_previous_answer_keeps_far_background_out():
    """A previous answer on the same photo makes far-off background costly to turn object."""
    from virtart.segmentation.base import Prediction
    from virtart.segmentation.superpixels import keep_out_cost

    image, disc = scene()
    strict = OfflineSegmenter(previous_weight=1e3)
    state = strict.set_image(image)
    previous = Prediction(mask=np.zeros(disc.shape, np.float32),  # "nothing was object before"
                          extra={"image_key": state.key, "prompt_counts": (0, 0)})
    fresh = strict.predict(state, [(72, 60, 1)]).mask
    held = strict.predict(state, [(72, 60, 1)], previous=previous).mask
    assert iou(fresh, disc) > 0.9
    assert 0 < held.sum() < 0.3 * disc.sum() and held[60, 72] == 1  # only the clicked spot joins
    answer = strict.predict(state, [(72, 60, 1)], previous=strict.predict(state, [(72, 60, 1)]))
    assert iou(answer.mask, disc) > 0.9  # a consistent previous answer changes nothing
    graph = state.data.graph
    before = graph.centroid[:, 0] < 40
    cost = keep_out_cost(graph, before, (150.0, 60.0), 2.0, 0.5)
    assert np.all(cost[before] == 0) and np.all(cost >= 0)
    far = ~before & (np.hypot(graph.centroid[:, 0] - 150, graph.centroid[:, 1] - 60) > 80)
    assert np.allclose(cost[far], 2.0 * graph.area[far], rtol=0.05)


def test_a_corrective_click_changes_only_what_is_connected_to_it():
    """The cut's changes away from the newest click are dropped; its own part is taken whole."""
    from virtart.segmentation.corrections import local_correction

    before = np.zeros((60, 80), np.float32)
    before[10:30, 10:30] = 1
    after = before.copy()
    after[10:30, 30:45] = 1  # grown beside the click
    after[45:55, 60:75] = 1  # a far-off flood the click has nothing to do with
    after[10:12, 10:30] = 0  # a thin shift of the far edge
    kept = local_correction(before, after, [(38, 20, 1)], focus=0)
    assert kept[20, 40] == 1 and kept[50, 70] == 0 and kept[11, 20] == 1
    removed = local_correction(after, before, [(38, 20, 0)], focus=0)
    assert removed[20, 40] == 0 and removed[50, 70] == 1  # an exclude click removes its part only
    near = local_correction(before, after, [(38, 20, 1)], focus=0, reach=0.5)
    assert near[20, 33] == 1 and near[20, 44] == 0  # reach bounds the part by the click's depth


def test_local_clicks_never_undo_the_far_object():
    """Protocol clicks on the toy scene: no click lowers the IoU by more than 0.05."""
    image, disc = scene(seed=3)
    gt = (disc * 255).astype(np.uint8)
    result = run_image(OfflineSegmenter("local"), image, gt, max_clicks=6)
    assert all(b >= a - 0.05 for a, b in zip(result.ious, result.ious[1:], strict=False)), result.ious


def test_a_re_solve_that_flips_much_far_from_the_click_is_taken_locally():
    """``far_change``: the click's own part is always taken; far-off flips only while small."""
    from virtart.segmentation.corrections import given_answer

    image, disc = scene()
    given = disc.astype(np.float32)
    given[:, 100:] = 0  # the disc's right part missed ...
    given[5:25, 130:155] = 1  # ... and a far-off patch of background taken (500 px)
    for far_change, patch_kept in ((0.0, False), (0.05, True), (1.0, False)):
        segmenter = OfflineSegmenter(far_change=far_change)
        state = segmenter.set_image(image)
        mask = segmenter.predict(state, [(105, 60, 1)], previous=given_answer(state, given)).mask
        assert mask[:, 100:][disc[:, 100:]].mean() > 0.9  # the clicked part joins
        assert (mask[5:25, 130:155].mean() > 0.9) == patch_kept, far_change

"""Boxes, brush strokes and the detector prior (issue 14): the prompt helpers, the offline
segmenter's answers, the benchmark protocol's box and stroke users, the CLI and the API."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from virtart.errors import VirtArtError
from virtart.evaluation.click_protocol import next_stroke, object_box, run_image
from virtart.segmentation.base import Stroke, check_prompts
from virtart.segmentation.offline import OfflineSegmenter, _fading_prior, _mask_nodes
from virtart.segmentation.prompts import detector_prior, medial_stroke, rasterize_strokes, stroke_points


def scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A red bar and a red disc (look-alikes) on a noisy grey-green background, and the bar's mask."""
    rng = np.random.default_rng(seed)
    image = np.full((120, 160, 3), (90, 120, 90), np.float32)
    yy, xx = np.mgrid[0:120, 0:160]
    bar = (xx >= 20) & (xx < 70) & (yy >= 40) & (yy < 80)
    disc = (xx - 120) ** 2 + (yy - 60) ** 2 <= 20**2
    image[bar | disc] = (200, 50, 40)
    image += rng.normal(0, 6, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), bar


@pytest.fixture(scope="module")
def segmenter() -> OfflineSegmenter:
    return OfflineSegmenter(deep_weight=0)  # colour alone: no VGG needed for these toy scenes


def iou(mask: np.ndarray, truth: np.ndarray) -> float:
    return float(np.count_nonzero((mask >= 0.5) & truth) / np.count_nonzero((mask >= 0.5) | truth))


def test_stroke_points_and_rasterize():
    stroke = Stroke(((0.0, 0.0), (48.0, 0.0)), 0)
    points = stroke_points([stroke], spacing=24)
    assert points == [(0.0, 0.0, 0), (24.0, 0.0, 0), (48.0, 0.0, 0)]
    include, exclude = rasterize_strokes([stroke, Stroke(((10.0, 0.0), (10.0, 5.0)), 1)], (10, 60))
    assert exclude[0, 40] and not exclude[0, 10] and include[0, 10] and not include.any(axis=0)[40]


def test_detector_prior_is_the_box_of_the_first_include_click_and_stays():
    boxes = [(0, 0, 100, 100), (10, 10, 40, 40)]
    assert detector_prior([(20, 20, 1)], boxes) == (10, 10, 40, 40)  # the smallest box holding it
    assert detector_prior([(20, 20, 1), (30, 35, 0)], boxes) == (10, 10, 40, 40)
    assert detector_prior([(20, 20, 1), (60, 60, 1)], boxes) == (10, 10, 40, 40)  # kept: it fades, not drops
    assert detector_prior([(200, 200, 1)], boxes) is None and detector_prior([(20, 20, 0)], boxes) is None


@pytest.mark.parametrize(("box", "strokes", "message"), [
    ((5, 5, 5, 40), (), "zero area"),
    ((200, 5, 300, 40), (), "outside"),
    (None, (Stroke(((3.0, 3.0),), 1),), "at least two points"),
    (None, (Stroke(((3.0, 3.0), (500.0, 3.0)), 1),), "outside"),
    (None, (Stroke(((3.0, 3.0), (5.0, 3.0)), 2),), "label"),
])
def test_bad_boxes_and_strokes_get_one_clear_message(box, strokes, message):
    with pytest.raises(VirtArtError, match=message):
        check_prompts((160, 120), [], box, strokes)


def test_a_stroke_alone_selects_its_object_and_an_exclude_stroke_cuts(segmenter):
    image, bar = scene()
    state = segmenter.set_image(image)
    mask = segmenter.predict(state, [], strokes=(Stroke(((30.0, 60.0), (60.0, 60.0)), 1),)).mask
    assert iou(mask, bar) > 0.85 and mask[60, 120] == 0  # the look-alike disc stays out
    cut = segmenter.predict(state, [], strokes=(Stroke(((30.0, 60.0), (60.0, 60.0)), 1),
                                                Stroke(((45.0, 38.0), (45.0, 82.0)), 0))).mask
    assert cut[60, 45] == 0 and cut[60, 30] == 1  # hard constraints: painted pixels obey


def test_clicks_after_a_box_refine_it_instead_of_starting_over(segmenter):
    image, bar = scene()
    state = segmenter.set_image(image)
    box = (10.0, 30.0, 140.0, 90.0)  # sloppy: holds half the look-alike disc too
    first = segmenter.predict(state, [], box=box)
    second = segmenter.predict(state, [(115.0, 60.0, 0)], box=box, previous=first)
    assert second.mask[60, 115] == 0 and iou(second.mask, bar) >= iou(first.mask, bar)
    assert np.count_nonzero(second.mask[:, :80] != first.mask[:, :80]) < 0.05 * bar.sum()  # far side kept
    grown = segmenter.predict(state, [(150.0, 60.0, 1)], box=(10.0, 30.0, 70.0, 90.0))
    assert grown.mask[60, 150] == 1  # an include click outside the box grows the box to hold it


def test_the_detector_prior_keeps_a_first_click_on_its_object(segmenter):
    image, bar = scene()
    state = segmenter.set_image(image)
    prior = (15.0, 35.0, 75.0, 85.0)
    mask = segmenter.predict(state, [(45.0, 60.0, 1)], prior=prior).mask
    assert mask[60, 120] == 0 and iou(mask, bar) > 0.85


def test_the_detector_prior_fades_and_grows_when_a_click_leaves_it(segmenter):
    """A look-alike touching the clicked object stays out while the clicks agree with the box."""
    rng = np.random.default_rng(1)
    image = np.full((120, 160, 3), (90, 120, 90), np.float32)
    image[40:80, 20:70] = image[50:70, 70:130] = (200, 50, 40)  # a bar and a touching look-alike arm
    image = np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
    state = segmenter.set_image(image)
    boxes = [(18.0, 38.0, 72.0, 82.0)]
    clicks = [(40.0, 60.0, 1)]
    plain = segmenter.predict(state, clicks).mask
    boxed = segmenter.predict(state, clicks, prior=detector_prior(clicks, boxes)).mask
    assert plain[60, 110] == 1  # colour alone floods the arm
    assert boxed[60, 40] == 1 and boxed[60, 110] == 0 and boxed[:, 75:].sum() == 0
    clicks.append((110.0, 60.0, 1))  # the user means more than the box: it grows to take the click in
    prior = detector_prior(clicks, boxes)
    box, weight = _fading_prior(prior, clicks, segmenter.settings)
    assert box[2] > 110 and segmenter.settings.box_prior < weight < segmenter.settings.box_click_weight
    fading = OfflineSegmenter("local", deep_weight=0)
    grown = fading.predict(fading.set_image(image), clicks, prior=prior).mask
    assert grown[60, 110] == 1 and grown[60, 40] == 1
    assert segmenter.predict(state, clicks, prior=prior).mask[60, 110] == 1  # default: the prior is dropped


def test_prompted_superpixels_weigh_more_in_the_colour_models(segmenter):
    from virtart.segmentation.superpixels import colour_cost, log_density

    graph = segmenter.set_image(scene()[0]).data.graph
    members = graph.centroid[:, 0] < 80
    assert np.allclose(colour_cost(graph, members), colour_cost(graph, members.astype(np.float32)), rtol=1e-5)
    seed = np.zeros(graph.count, np.float32)
    seed[int(np.argmax(~members))] = 50.0  # one node on the other side, prompted
    boosted = log_density(graph, members + seed) - log_density(graph, members)
    assert boosted.max() > 0.3 and boosted.min() < 0  # its colours gain weight, the rest share less


def test_a_new_prompt_keeps_the_far_object_of_the_previous_answer(segmenter):
    """Object far from the newest click pays to turn background (and far background to turn object)."""
    image, bar = scene()
    state = segmenter.set_image(image)
    first = segmenter.predict(state, [(45.0, 60.0, 1)])
    graph = state.data.graph
    before = _mask_nodes(state.data, first.mask)
    cost = segmenter._keep_out(state.data, before, [(150.0, 110.0, 0)])
    far = np.hypot(graph.centroid[:, 0] - 150, graph.centroid[:, 1] - 110) > 90
    assert np.all(cost[before & far] < 0) and np.all(cost[~before & far] >= 0)


def test_protocol_box_and_stroke_users():
    gt = np.zeros((60, 80), np.uint8)
    gt[10:50, 20:40] = 255
    obj = gt > 0
    assert object_box(obj, margin=5) == (15.0, 5.0, 45.0, 55.0)
    depth = cv2.distanceTransform(obj.astype(np.uint8), cv2.DIST_L2, 3)
    stroke = medial_stroke(obj, depth, 1)
    xs, ys = zip(*stroke.points, strict=True)
    assert stroke.label == 1 and len(stroke.points) >= 2 and all(obj[int(y), int(x)] for x, y in stroke.points)
    assert max(ys) - min(ys) >= 15 and 25 <= np.mean(xs) <= 34  # along the bar's long middle
    pred = np.zeros_like(obj)
    pred[10:50, 20:30] = True
    assert next_stroke(pred, obj, np.zeros_like(obj)).label == 1
    assert next_stroke(obj, obj, np.zeros_like(obj)) is None


@pytest.mark.parametrize("prompt", ["box", "strokes"])
def test_run_image_with_box_and_strokes(segmenter, prompt):
    image, bar = scene()
    result = run_image(segmenter, image, (bar * 255).astype(np.uint8), max_clicks=3, prompt=prompt)
    assert len(result.ious) == 3 and result.ious[0] > 0.8
    if prompt == "box":
        assert result.ious[-1] >= result.ious[0] - 0.02
    else:
        # The first stroke is near perfect (0.98); the corrective ones follow 1-2 px errors at the
        # bar's corner and pin the mixed superpixels they cross, whose colours now weigh 50x in
        # the models (seed_weight): 0.98 -> 0.92 -> 0.94 here (before: -> 0.92 -> 0.96). On real
        # scenes the same weight lowers strokes' NoC@90 (cluttered 5.02 -> 4.38; bench_clicks.py).
        assert min(result.ious[1:]) >= 0.9
    with pytest.raises(VirtArtError, match="unknown prompt"):
        run_image(segmenter, image, (bar * 255).astype(np.uint8), max_clicks=1, prompt="lasso")


def test_segment_cli_takes_strokes(capsys, tmp_path, monkeypatch):
    from virtart.cli import main as cli
    from virtart.imageio import load_mask, save_png

    monkeypatch.setattr(cli, "COMMAND_MODULES", ("virtart.cli.segment_commands",))
    image, bar = scene()
    photo, out, report = save_png(tmp_path / "p.png", image), tmp_path / "m.png", tmp_path / "r.json"
    code = cli.main(["segment", str(photo), "--stroke", "30,60,45,62,60,60", "--stroke", "100,60,140,60:0",
                     "--backend", "offline", "--out", str(out), "--report", str(report)])
    assert code == 0
    assert iou(load_mask(out), bar) > 0.8 and json.loads(report.read_text())["strokes"][1]["label"] == 0
    for bad, message in (("30,60", "two or more points"), ("30,60,40,60:7", "LABEL"),
                         ("30,60,400,60", "outside")):
        code = cli.main(["segment", str(photo), "--stroke", bad, "--out", str(tmp_path / "x.png")])
        err = capsys.readouterr().err
        assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


def test_prompt_json_parsers_read_box_strokes_and_points():
    from virtart.segmentation.prompts import box_from_json, points_from_json, strokes_from_json

    assert box_from_json("[1, 2, 30, 40]") == (1.0, 2.0, 30.0, 40.0) and box_from_json("") is None
    strokes = strokes_from_json('[{"points": [[1, 2], [3, 4]], "label": 0}, {"points": [[5, 6], [7, 8]]}]')
    assert strokes == (Stroke(((1.0, 2.0), (3.0, 4.0)), 0), Stroke(((5.0, 6.0), (7.0, 8.0)), 1))
    assert points_from_json("") == [] and points_from_json("[[1, 2], [3, 4, 0]]") == [(1.0, 2.0, 1), (3.0, 4.0, 0)]
    for text, parse in (("[1, 2]", box_from_json), ('[{"points": 3}]', strokes_from_json),
                        ('[{"points": [[1]]}]', strokes_from_json), ("[[1, 2, 7]]", points_from_json),
                        ('[["a", 2]]', points_from_json), ("[1, 2, NaN, 4]", box_from_json)):
        with pytest.raises(VirtArtError):
            parse(text)

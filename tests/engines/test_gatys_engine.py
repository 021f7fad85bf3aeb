"""The Gatys engine end to end with the real offline VGG16 (marked ``weights``)."""

import cv2
import numpy as np
import pytest

from virtart.engines.registry import GatysOptions
from virtart.errors import VirtArtError
from virtart.pipeline import RegionRequest, stylize

pytestmark = pytest.mark.weights


@pytest.fixture(scope="module")
def photo(astronaut) -> np.ndarray:
    return cv2.resize(astronaut, (128, 128), interpolation=cv2.INTER_AREA)


def test_style_loss_falls_and_outside_is_untouched(photo, styles_dir):
    mask = np.zeros(photo.shape[:2], np.float32)
    mask[:, :64] = 1  # the left half: background and the flag
    options = GatysOptions(steps=30, max_size=128, preview_every=10)
    previews = list(stylize(photo, [RegionRequest(mask, "starry_night", 1.0, feather=3)], engine="gatys",
                            options=options))
    assert len(previews) >= 3 and previews[-1].final and not previews[0].final
    report = previews[-1].result.report
    region = report["regions"][0]
    assert region["first"]["style"] / region["last"]["style"] >= 5.0
    assert report["outside_changed_pixels"] == 0
    assert report["perceptual_net"]["name"] in ("vgg19", "vgg16-offline")
    result = previews[-1].image
    assert result.shape == photo.shape and result.dtype == np.uint8
    assert np.array_equal(result[:, 72:], photo[:, 72:])  # beyond the feather band
    assert np.abs(result[:, :60].astype(int) - photo[:, :60]).mean() > 5


def test_two_regions_full_resolution_and_same_input_same_result(photo, styles_dir):
    big = cv2.resize(photo, (200, 150))
    left = np.zeros(big.shape[:2], np.float32)
    left[:, :90] = 1
    options = GatysOptions(steps=4, max_size=64, preview_every=2)
    regions = [RegionRequest(left, "starry_night", 1.0, feather=2),
               RegionRequest(left, "the_scream", 0.5, invert=True, feather=2)]
    first = list(stylize(big, regions, engine="gatys", options=options))[-1]
    second = list(stylize(big, regions, engine="gatys", options=options))[-1]
    assert first.image.shape == big.shape  # full resolution although the work ran at 64 px
    assert np.array_equal(first.image, second.image)
    assert len(first.result.report["regions"]) == 2


def test_closing_the_generator_stops_work(photo, styles_dir):
    mask = np.ones(photo.shape[:2], np.float32)
    generator = stylize(photo, [RegionRequest(mask, "starry_night")], engine="gatys",
                        options=GatysOptions(steps=1000, max_size=64, preview_every=1))
    assert next(generator).stage == "start"  # the starting image, before any step
    assert next(generator).step == 1
    generator.close()  # must return promptly, not run 1000 steps


def test_bad_regions(photo, styles_dir):
    empty = np.zeros(photo.shape[:2], np.float32)
    with pytest.raises(VirtArtError, match="the region is empty"):
        next(stylize(photo, [RegionRequest(empty, "starry_night")], engine="gatys"))
    with pytest.raises(VirtArtError, match="unknown style 'nope'.*starry_night"):
        next(stylize(photo, [RegionRequest(1 - empty, "nope")], engine="gatys"))
    with pytest.raises(VirtArtError, match="no region"):
        next(stylize(photo, [], engine="gatys"))


def test_fast_start_is_the_first_preview_and_the_photo_start_stays_an_option(photo, styles_dir):
    mask = np.zeros(photo.shape[:2], np.float32)
    mask[:, :64] = 1
    regions = [RegionRequest(mask, "starry_night", 1.0, feather=2)]
    fast = list(stylize(photo, regions, engine="gatys", options=GatysOptions(steps=2, max_size=64)))
    start = fast[0]
    assert start.step == 0 and start.stage == "start" and start.info["start"] == "fast" and not start.losses
    assert np.array_equal(start.image[:, 72:], photo[:, 72:])  # region-aware: the rest is the photo
    assert np.abs(start.image[:, :60].astype(int) - photo[:, :60]).mean() > 5  # already painted
    assert fast[-1].result.report["start"] == "fast"
    plain = list(stylize(photo, regions, engine="gatys",
                         options=GatysOptions(steps=2, max_size=64, init="photo")))
    assert plain[0].info["start"] == "photo" and plain[-1].result.report["start"] == "photo"
    moved = np.abs(plain[0].image.astype(int) - photo)[:, :60].mean()  # the photo, through the working size
    assert moved < 0.5 * np.abs(start.image[:, :60].astype(int) - photo[:, :60]).mean()


def test_auto_steps_stop_when_converged_and_a_count_means_exactly_that(photo, styles_dir):
    mask = np.ones(photo.shape[:2], np.float32)
    regions = [RegionRequest(mask, "the_scream", 1.0)]
    loose = GatysOptions(steps="auto", max_size=64, auto_window=2, auto_tolerance=0.9, auto_content_tolerance=1.0,
                         auto_max_steps=40)
    report = list(stylize(photo, regions, engine="gatys", options=loose))[-1].result.report
    assert report["stopped"]["reason"] == "converged" and report["steps"] == report["stopped"]["steps"] == 3
    capped = GatysOptions(steps="auto", max_size=64, auto_window=2, auto_tolerance=0.0, auto_max_steps=4)
    report = list(stylize(photo, regions, engine="gatys", options=capped))[-1].result.report
    assert report["stopped"]["reason"] == "cap" and report["steps"] == 4
    exact = GatysOptions(steps=5, max_size=64, auto_window=1, auto_tolerance=0.9)
    report = list(stylize(photo, regions, engine="gatys", options=exact))[-1].result.report
    assert report["stopped"] == {"reason": "steps", "steps": 5, "stages": [{"size": 64, "steps": 5, "reason": "steps"}]}
    assert report["options"]["steps"] == 5

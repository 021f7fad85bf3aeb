"""StylizeRequest: every edge's input is checked here, once, with one clear message."""

import numpy as np
import pytest

from virtart.engines.base import Region, StyleOptions
from virtart.engines.registry import (
    ENGINES,
    MAX_STEPS,
    GatysOptions,
    default_engine,
    engine_spec,
    parse_options,
)
from virtart.errors import VirtArtError
from virtart.imageio import Photo
from virtart.request import RegionRequest, StylizeRequest


@pytest.fixture()
def photo() -> Photo:
    return Photo(np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8), None, "test")


@pytest.fixture()
def region(photo) -> Region:
    mask = np.zeros(photo.rgb.shape[:2], np.float32)
    mask[10:30, 10:40] = 1
    return Region(mask, np.full((16, 16, 3), 90, np.uint8))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p, r: (Photo(p.rgb.astype(np.float32), None, ""), [r]), "uint8"),
        (lambda p, r: (Photo(p.rgb[:4], None, ""), [r]), "too small"),
        (lambda p, r: (p, [Region(np.zeros_like(r.mask), r.style)]), "region 1: the region is empty"),
        (lambda p, r: (p, [Region(r.mask[:20], r.style)]), "mask is 60x20"),
        (lambda p, r: (p, [Region(r.mask, r.style, 1.5)]), "strength"),
        (lambda p, r: (p, [Region(r.mask, r.style, float("nan"))]), "strength"),
        (lambda p, r: (p, [Region(r.mask, np.zeros((4, 4, 3), np.uint8))]), "8x8"),
        (lambda p, r: (p, []), "no region"),
        (lambda p, r: (p, [r] * 9), "at most 8 regions"),
        (lambda p, r: (p, [Region(r.mask, r.style, feather=float("nan"))]), "region 1: feather"),
        (lambda p, r: (p, [Region(r.mask, r.style, feather=500)]), "region 1: feather must be between"),
        (lambda p, r: (p, [Region(r.mask, r.style, preserve_color="sepia")]), "region 1: preserve colours"),
    ],
)
def test_bad_photo_or_regions(photo, region, change, message):
    bad_photo, bad_regions = change(photo, region)
    with pytest.raises(VirtArtError, match=message):
        StylizeRequest.create(bad_photo, bad_regions, "fast")


def test_an_inverted_request_that_leaves_nothing_is_refused(photo):
    with pytest.raises(VirtArtError, match="the region is empty"):
        StylizeRequest.create(photo, [RegionRequest(np.ones((40, 60), np.float32), np.zeros((9, 9, 3), np.uint8),
                                                    invert=True)], "fast")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (GatysOptions(steps=0), "steps must be 'auto' or a whole number between 1 and"),
        (GatysOptions(steps=MAX_STEPS + 1), "steps must be 'auto' or a whole number between 1 and"),
        (StyleOptions(max_size=32), "max size"),
        (GatysOptions(style_weight=float("inf")), "style weight"),
        (GatysOptions(optimizer="sgd"), "optimizer"),
        (GatysOptions(steps=2.5), "steps must be 'auto' or a whole number"),
        (StyleOptions(precision="fp16"), "precision"),
    ],
)
def test_bad_options(photo, region, options, message):
    with pytest.raises(VirtArtError, match=message):
        StylizeRequest.create(photo, [region], "gatys", options)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"steps": float("nan")}, "steps must be a finite number"),
        ({"steps": "ten"}, "steps must be 'auto' or a number"),
        ({"steps": 2.5}, "whole number"),
        ({"steps": 10**400}, "steps must be a finite number"),
    ],
)
def test_loose_values_are_refused_clearly(values, message):
    with pytest.raises(VirtArtError, match=message):
        parse_options("gatys", values)


def test_engine_defaults_come_from_the_registry(photo, region):
    assert default_engine("cpu") == "fast" and default_engine("cuda") == "gatys"
    request = StylizeRequest.create(photo, [region], "auto", StyleOptions(device="cpu"))
    assert request.engine == "fast" and request.options.max_size == ENGINES["fast"].working_size["cpu"]
    request = StylizeRequest.create(photo, [region], "Quality (Gatys)", StyleOptions(device="cpu"))
    assert request.engine == "gatys" and request.options.max_size == 512
    explicit = StylizeRequest.create(photo, [region], "gatys", StyleOptions(max_size=256, device="cpu"))
    assert explicit.options.max_size == 256
    assert engine_spec("FAST").name == "fast"
    with pytest.raises(VirtArtError, match="unknown engine 'turbo'"):
        StylizeRequest.create(photo, [region], "turbo")


def test_each_engine_declares_its_options_and_defaults_in_the_registry():
    from virtart.engines.registry import all_option_specs, engine_choices

    fast, gatys = engine_spec("fast"), engine_spec("gatys")
    assert fast.default_steps is None and gatys.default_steps == "auto"  # one steps default: the stopping rule
    common = {"max_size", "device", "precision", "preview_every"}
    assert {s.name for s in fast.option_specs} == common
    assert {"steps", "init", "optimizer", "style_weight"} <= {s.name for s in gatys.option_specs} - common
    assert all(spec.label and spec.help for spec in all_option_specs().values())
    assert engine_choices() == [(spec.label, spec.name) for spec in ENGINES.values()]
    # A value for another engine's option is ignored (the page sends one set); an unknown one is refused.
    assert parse_options("fast", {"steps": 40, "max_size": "512"}) == StyleOptions(max_size=512)
    assert parse_options("gatys", {"steps": "", "max_size": 0}).steps == "auto"
    with pytest.raises(VirtArtError, match="unknown option 'turbo'"):
        parse_options("fast", {"turbo": 1})


def test_a_request_gets_its_engines_options_type(photo, region):
    request = StylizeRequest.create(photo, [region], "gatys", StyleOptions(max_size=128, device="cpu"))
    assert type(request.options) is GatysOptions and request.options.max_size == 128
    assert request.options.steps == engine_spec("gatys").default_steps
    request = StylizeRequest.create(photo, [region], "fast", GatysOptions(steps=5, device="cpu"))
    assert type(request.options) is StyleOptions and request.options.planned_steps() == 1

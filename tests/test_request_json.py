"""The request's one JSON form: parsing, the round trip, prompts, "everything else", files and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from virtart.errors import VirtArtError
from virtart.imageio import Photo, encode_png, save_mask, save_png
from virtart.request import (
    EXAMPLE_REQUEST,
    RegionRequest,
    StylizeRequest,
    data_url,
    load_request_file,
    parse_region,
    request_from_json,
)
from virtart.segmentation.prompts import Prompt, parse_box


@pytest.fixture()
def photo(small_photo) -> Photo:
    return Photo(small_photo, None, "small")


@pytest.fixture()
def painting() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (24, 24, 3), dtype=np.uint8)


def square_mask(shape=(48, 64)) -> np.ndarray:
    mask = np.zeros(shape, np.float32)
    mask[12:36, 16:48] = 1  # the red square of small_photo
    return mask


def png_url(mask: np.ndarray) -> str:
    return data_url(encode_png(np.repeat((mask * 255).astype(np.uint8)[:, :, None], 3, axis=2)))


def test_a_region_owns_strength_colour_and_feather_and_the_request_gives_defaults(photo, painting):
    data = {"version": 1, "engine": "fast", "options": {"device": "cpu"},
            "regions": [{"mask": png_url(square_mask()), "style": data_url(encode_png(painting)), "strength": 0.5,
                         "preserve_color": "histogram", "feather": 9},
                        {"invert": True, "style": data_url(encode_png(painting))}]}
    request = request_from_json(data, photo, defaults={"feather": 2, "preserve_color": True})
    first, rest = request.regions
    assert (first.strength, first.preserve_color, first.feather) == (0.5, "histogram", 9.0)
    assert (rest.preserve_color, rest.feather) == ("luminance", 2.0)
    assert np.array_equal(rest.mask, 1 - square_mask())  # everything else: outside the other regions
    assert request.engine == "fast" and request.options.device == "cpu"


def test_the_json_round_trip_makes_the_same_request(photo, painting):
    request = StylizeRequest.create(photo, [RegionRequest(square_mask(), painting, 0.7, feather=3,
                                                          preserve_color="luminance"),
                                            RegionRequest(None, painting, invert=True)], "fast")
    text = json.dumps(request.to_json())  # plain JSON: no arrays left
    again = request_from_json(json.loads(text), photo)
    assert again.engine == request.engine and again.options == request.options
    for before, after in zip(request.regions, again.regions, strict=True):
        assert np.array_equal(before.mask, after.mask) and np.array_equal(before.style, after.style)
        assert (before.strength, before.feather, before.preserve_color) == (after.strength, after.feather,
                                                                            after.preserve_color)
    assert again.to_json() == request.to_json()


def test_a_region_can_be_cut_from_a_prompt(photo, painting):
    prompt = {"points": [[30, 22, 1], [2, 2, 0]], "box": [12, 8, 52, 40]}
    request = request_from_json({"segmenter": "offline", "engine": "fast",
                                 "regions": [{"prompt": prompt, "style": data_url(encode_png(painting))}]}, photo)
    mask = request.regions[0].mask
    assert mask[24, 32] == 1.0 and mask[2, 2] == 0.0
    assert Prompt.from_json(prompt).to_json() == {"points": [[30.0, 22.0, 1], [2.0, 2.0, 0]],
                                                  "box": [12.0, 8.0, 52.0, 40.0]}


@pytest.mark.parametrize(("data", "message"), [
    ({"version": 2, "regions": []}, "version 2"),
    ({"regions": [], "colour": 1}, "unknown key 'colour'"),
    ({"regions": []}, "regions must be a JSON list"),
    ({"regions": [{"mask": 0}]}, "no 'style'"),
    ({"regions": [{"mask": 0, "style": "starry_night", "size": 3}]}, "unknown key 'size'"),
    ({"regions": [{"mask": 5, "style": "starry_night"}]}, "mask index 5"),
    ({"regions": [{"mask": "/etc/passwd", "style": "starry_night"}]}, "file names are read only from a request file"),
    ({"regions": [{"mask": 0, "style": "/etc/passwd"}]}, "not a gallery id"),
    ({"regions": [{"mask": 0, "style": "starry_night", "feather": float("nan")}]}, "feather must be a finite"),
    ({"regions": [{"mask": 0, "style": "starry_night", "invert": "yes"}]}, "invert must be true or false"),
    ({"regions": [{"prompt": {"points": [[1, 2, 5]]}, "style": "starry_night"}]}, "label must be 1"),
    ({"regions": [{"prompt": {"points": [[900, 2]]}, "style": "starry_night"}]}, "outside the 64x48"),
    ({"regions": [{"prompt": {"lasso": []}, "style": "starry_night"}]}, "unknown key 'lasso'"),
    ({"regions": [{"invert": True, "style": "starry_night"}]}, "everything else needs another region"),
    ({"regions": [{"mask": 0, "style": "starry_night"}], "options": {"turbo": 1}}, "unknown option 'turbo'"),
    ("{not json", "not valid JSON"),
])
def test_bad_json_requests_get_one_clear_message(photo, data, message):
    with pytest.raises(VirtArtError, match=message):
        request_from_json(data, photo, masks=[square_mask()])


def test_a_request_file_reads_names_beside_it(tmp_path, small_photo, painting):
    save_png(tmp_path / "photo.png", small_photo)
    save_mask(tmp_path / "square.png", square_mask())
    save_png(tmp_path / "mine.png", painting)
    (tmp_path / "r.json").write_text(json.dumps({"photo": "photo.png", "engine": "fast",
                                                 "regions": [{"mask": "square.png", "style": "mine.png"}]}))
    request = load_request_file(tmp_path / "r.json")
    assert request.photo.size == (64, 48) and np.array_equal(request.regions[0].mask, square_mask())
    assert np.array_equal(request.regions[0].style, painting)


def test_command_line_strings_parse_beside_the_type():
    assert parse_box("10,20,300,240") == (10.0, 20.0, 300.0, 240.0)
    region = parse_region("mask.png=udnie@0.4")
    assert (region.mask, region.style, region.strength) == ("mask.png", "udnie", 0.4)
    for bad in ("1,2,3", "a,b,c,d", "1,2,3,nan"):
        with pytest.raises(VirtArtError, match="expected X0,Y0,X1,Y1"):
            parse_box(bad)


def test_the_example_request_is_the_documented_form():
    assert EXAMPLE_REQUEST["version"] == 1
    kinds = [next(k for k in ("prompt", "mask", "invert") if k in region) for region in EXAMPLE_REQUEST["regions"]]
    assert kinds == ["prompt", "mask", "invert"]


def test_stylize_cli_reads_a_request_file(tmp_path, small_photo, painting, tiny_gatys, monkeypatch, capsys):
    from virtart import pipeline
    from virtart.cli.main import main
    from virtart.imageio import load_photo

    monkeypatch.setattr(pipeline, "shared_engine", lambda name, device: tiny_gatys)
    save_png(tmp_path / "photo.png", small_photo)
    save_png(tmp_path / "mine.png", painting)
    request = {"version": 1, "engine": "gatys", "options": {"steps": 2, "init": "photo", "max_size": 64},
               "regions": [{"prompt": {"box": [12, 8, 52, 40]}, "style": "mine.png", "feather": 0},
                           {"invert": True, "style": "mine.png", "strength": 0.0}],
               "segmenter": "offline"}
    (tmp_path / "r.json").write_text(json.dumps(request))
    out, report = tmp_path / "out.png", tmp_path / "report.json"
    code = main(["stylize", str(tmp_path / "photo.png"), "--request", str(tmp_path / "r.json"), "--out", str(out),
                 "--report", str(report)])
    assert code == 0, capsys.readouterr().err
    result = load_photo(out).rgb
    data = json.loads(report.read_text())
    assert data["engine"] == "gatys" and data["steps"] == 2 and [r["feather"] for r in data["regions"]] == [0, 4]
    assert data["outside_changed_pixels"] == 0 and result.shape == small_photo.shape
    # Refusals are one line: flags that would be a second source of regions, a broken file.
    assert main(["stylize", "--request", str(tmp_path / "r.json"), "--style", "udnie", "--out", str(out)]) == 2
    (tmp_path / "bad.json").write_text("{")
    assert main(["stylize", "--request", str(tmp_path / "bad.json"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "leave out --style" in err and "not valid JSON" in err and "Traceback" not in err


def test_print_request_example(capsys):
    from virtart.cli.main import main

    assert main(["stylize", "--print-request-example"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(EXAMPLE_REQUEST))


def test_stylize_video_still_takes_the_old_box_string():
    import gradio as gr

    from virtart.ui import video_tab

    with pytest.raises(gr.Error, match="no video was given"):  # the box string parsed, then the missing clip
        list(video_tab.stylize_video_api(None, box="10,20,300,240"))
    with pytest.raises(gr.Error, match="box '10,20': expected X0,Y0,X1,Y1"):
        list(video_tab.stylize_video_api(None, box="10,20"))
    assert parse_box("10, 20, 300, 240", "box") == Prompt.from_json({"box": [10, 20, 300, 240]}).box

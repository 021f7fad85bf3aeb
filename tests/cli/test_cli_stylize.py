"""``virtart stylize`` and ``virtart weights`` as a user runs them (in-process for speed)."""

import json

import numpy as np
import pytest

from virtart.cli.main import main
from virtart.imageio import load_photo, save_mask, save_png


@pytest.fixture()
def files(tmp_path, small_photo):
    photo = save_png(tmp_path / "photo.png", small_photo)
    mask = np.zeros(small_photo.shape[:2], np.float32)
    mask[8:40, 8:32] = 1
    return photo, save_mask(tmp_path / "mask.png", mask), tmp_path


@pytest.mark.weights
def test_stylize_writes_full_size_png_report_and_plot(files, styles_dir, capsys):
    photo, mask, folder = files
    out, report, plot = folder / "out.png", folder / "r.json", folder / "loss.png"
    code = main(["stylize", str(photo), "--style", "starry_night", "--mask", str(mask), "--engine", "gatys", "--steps", "3",
                 "--max-size", "64", "--preview-every", "1", "--out", str(out), "--report", str(report),
                 "--plot", str(plot)])
    assert code == 0
    assert load_photo(out).size == load_photo(photo).size
    data = json.loads(report.read_text())
    for key in ("engine", "perceptual_net", "device", "steps", "seconds", "input_size", "output_size",
                "regions", "outside_changed_pixels"):
        assert key in data
    assert data["outside_changed_pixels"] == 0
    assert data["stopped"]["reason"] == "steps" and data["steps"] == 3 and data["start"] == "fast"
    assert "after 3 steps (as asked)" in capsys.readouterr().out
    assert data["regions"][0]["first"]["style"] > 0 and data["regions"][0]["last"]["style"] > 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("extra, message", [
    (["--style", "nope"], "unknown style 'nope'"),
    (["--style", "starry_night", "--mask", "{empty}"], "the region is empty"),
    (["--style", "starry_night", "--mask", "{notimage}"], "not an image"),
    (["--style", "starry_night", "--steps", "0"], "steps must be"),
    ([], "give --style"),
])
def test_bad_input_is_one_line_and_exit_2(files, styles_dir, capsys, extra, message):
    photo, _, folder = files
    save_mask(folder / "empty.png", np.zeros((48, 64), np.float32))
    (folder / "notimage.png").write_text("hello")
    extra = [e.format(empty=folder / "empty.png", notimage=folder / "notimage.png") for e in extra]
    out = folder / "out.png"
    code = main(["stylize", str(photo), *extra, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_steps_are_auto_or_a_whole_number(files, capsys):
    photo, _, folder = files
    with pytest.raises(SystemExit) as stop:
        main(["stylize", str(photo), "--style", "starry_night", "--steps", "many", "--out", str(folder / "o.png")])
    assert stop.value.code == 2 and "steps must be 'auto' or a number" in capsys.readouterr().err


def test_refuses_to_overwrite_the_photo(files, capsys):
    photo, _, _ = files
    before = photo.read_bytes()
    assert main(["stylize", str(photo), "--style", "starry_night", "--out", str(photo)]) == 2
    assert "overwrite" in capsys.readouterr().err
    assert photo.read_bytes() == before


def test_weights_lists_every_model(capsys):
    assert main(["weights", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert {"vgg19", "vgg16-offline", "sam-vit-b", "yolo11n", "magenta-style-transform"} <= set(rows)
    assert rows["vgg16-offline"]["available"]

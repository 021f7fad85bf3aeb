"""``virtart segment`` / ``detect`` / ``eval-detect`` with the offline backend."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from virtart.cli import main as cli
from virtart.imageio import load_mask, save_png


@pytest.fixture(autouse=True)
def only_segment_commands(monkeypatch) -> None:
    """Parse with this module's commands alone, so other commands' imports cannot interfere."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("virtart.cli.segment_commands",))


@pytest.fixture()
def photo_path(tmp_path, small_photo):
    return save_png(tmp_path / "photo.png", small_photo)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_segment_writes_a_mask_and_a_report(capsys, tmp_path, photo_path) -> None:
    out, report = tmp_path / "mask.png", tmp_path / "r.json"
    code, stdout, err = run(capsys, "segment", photo_path, "--point", "30,22", "--point", "2,2,0",
                            "--backend", "offline", "--out", out, "--report", report)
    assert code == 0, err
    mask = load_mask(out)
    assert mask.shape == (48, 64)
    assert mask[24, 32] == 1.0 and mask[2, 2] == 0.0  # inside the red square / the excluded corner
    data = json.loads(report.read_text())
    assert data["backend"] == "offline"
    # The report describes the mask that was written: its size, the area it covers, where it is.
    assert data["size"] == [64, 48] and data["mask"] == str(out)
    assert data["mask_fraction"] == round(float((mask >= 0.5).mean()), 6) and 0 < data["mask_fraction"] < 1
    assert isinstance(data["set_image_seconds"], float) and isinstance(data["predict_seconds"], float)
    assert data["points"] == [[30.0, 22.0, 1], [2.0, 2.0, 0]]


def test_segment_with_a_box(capsys, tmp_path, photo_path) -> None:
    out = tmp_path / "mask.png"
    code, _, err = run(capsys, "segment", photo_path, "--box", "12,8,52,40", "--backend", "offline", "--out", out)
    assert code == 0, err
    mask = load_mask(out)
    assert mask[24, 32] == 1.0 and mask[:, :10].max() == 0.0  # nothing outside the box


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--point", "64,10"], "outside the 64x48 image"),
        (["--point=-1,10"], "outside"),
        ([], "no clicks"),
        (["--box", "10,10,10,40"], "zero area"),
        (["--point", "a,b"], "expected X,Y"),
        (["--box", "1,2,3"], "expected X0,Y0,X1,Y1"),
        (["--point", "5,5,2"], "label must be 1"),
    ],
)
def test_bad_prompts_are_one_error_line(capsys, tmp_path, photo_path, args, message) -> None:
    out = tmp_path / "mask.png"
    code, _, err = run(capsys, "segment", photo_path, *args, "--backend", "offline", "--out", out)
    assert code == 2
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not out.exists()


def test_missing_photo_is_one_error_line(capsys, tmp_path) -> None:
    code, _, err = run(capsys, "segment", tmp_path / "nope.png", "--point", "1,1", "--out", tmp_path / "m.png")
    assert code == 2 and err.startswith("error: ") and "no such file" in err


def test_tiny_photo(capsys, tmp_path) -> None:
    path = save_png(tmp_path / "tiny.png", np.full((3, 2, 3), 90, np.uint8))
    code, _, err = run(capsys, "segment", path, "--point", "1,1", "--backend", "offline", "--out", tmp_path / "m.png")
    assert code == 0, err
    assert load_mask(tmp_path / "m.png").shape == (3, 2)


@pytest.fixture(scope="module")
def coco_subset(tmp_path_factory, shared_dir):
    root = shared_dir / "eval" / "coco128-seg"
    names = ["000000000036", "000000000061"]
    if not all((root / "images" / "train2017" / f"{n}.jpg").is_file() for n in names):
        pytest.skip("coco128-seg is absent")
    subset = tmp_path_factory.mktemp("coco")
    for folder in ("images", "labels"):
        (subset / folder).mkdir()
    for name in names:
        shutil.copy(root / "images" / "train2017" / f"{name}.jpg", subset / "images")
        shutil.copy(root / "labels" / "train2017" / f"{name}.txt", subset / "labels")
    return subset


@pytest.mark.weights
def test_detect_writes_one_mask_per_object(capsys, tmp_path, coco_subset) -> None:
    out_dir, report = tmp_path / "objects", tmp_path / "r.json"
    code, stdout, err = run(capsys, "detect", coco_subset / "images" / "000000000036.jpg", "--classes", "person",
                            "--backend", "offline", "--out-dir", out_dir, "--report", report)
    assert code == 0, err
    listing = json.loads((out_dir / "objects.json").read_text())
    assert listing and all(row["label"] == "person" for row in listing)
    areas = [row["area"] for row in listing]
    assert areas == sorted(areas, reverse=True)
    for row in listing:
        assert load_mask(out_dir / row["mask"]).sum() == pytest.approx(row["area"])
    assert json.loads(report.read_text())["backend"] == "offline"


@pytest.mark.weights
def test_detect_that_finds_nothing_says_so(capsys, tmp_path, photo_path) -> None:
    code, stdout, err = run(capsys, "detect", photo_path, "--classes", "giraffe", "--backend", "offline",
                            "--out-dir", tmp_path / "objects")
    assert code == 0
    assert "warning: no objects of class giraffe found" in err
    assert json.loads((tmp_path / "objects" / "objects.json").read_text()) == []


@pytest.mark.weights
def test_detect_unknown_class_is_an_error(capsys, tmp_path, photo_path) -> None:
    code, _, err = run(capsys, "detect", photo_path, "--classes", "unicorn", "--out-dir", tmp_path / "o")
    assert code == 2 and err.startswith("error: unknown class 'unicorn'")


@pytest.mark.weights
def test_eval_detect_reports_best_iou_per_class(capsys, tmp_path, coco_subset) -> None:
    report = tmp_path / "r.json"
    code, stdout, err = run(capsys, "eval-detect", "--images", coco_subset / "images", "--labels",
                            coco_subset / "labels", "--backend", "offline", "--report", report)
    assert code == 0, err
    data = json.loads(report.read_text())
    assert data["images"] == 2 and data["backend"] == "offline"
    assert data["objects"] == sum(len(row["objects"]) for row in data["per_image"])
    assert 0.0 <= data["mean_best_iou"] <= 1.0
    assert data["per_class"]["person"]["objects"] >= 4
    assert data["people_and_animals"]["objects"] >= data["per_class"]["person"]["objects"]
    assert json.loads(stdout)["mean_best_iou"] == data["mean_best_iou"]


def test_eval_detect_missing_folder(capsys, tmp_path) -> None:
    code, _, err = run(capsys, "eval-detect", "--images", tmp_path / "none", "--labels", tmp_path,
                       "--backend", "offline")
    assert code == 2 and "images folder" in err and "does not exist" in err

"""``virtart batch``: recipes, inputs, the manifest, workers, and Ray runs that resume after a
killed worker or Ctrl-C. Tiny random engines and a stand-in detector: no weights read."""

from __future__ import annotations

import _thread
import functools
import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.support.tiny_models import red_patch_detector, slow_tiny_gatys, tiny_gatys_engine
from virtart.batch import manifest
from virtart.batch.inputs import collect
from virtart.batch.recipe import EXAMPLE, example_json, parse_recipe
from virtart.batch.worker import AlbumWorker
from virtart.errors import VirtArtError

TINY = {"version": 1, "engine": "gatys", "options": {"steps": 2, "init": "photo", "max_size": 64},
        "regions": [{"prompt": {"detect": ["person"]}, "style": "starry_night", "strength": 1.0, "feather": 2},
                    {"invert": True, "style": "great_wave", "strength": 0.5, "preserve_color": "luminance"}]}


def photo(index: int, red: bool = True) -> np.ndarray:
    y, x = np.mgrid[0:48, 0:64]
    rgb = np.stack([x * 3 + index * 7, y * 4, (x + y) * 2 + index], axis=2).clip(0, 255).astype(np.uint8)
    rgb[:, :, 0] = np.minimum(rgb[:, :, 0], 140)
    if red:
        rgb[10 + index % 5:30, 12:40 + index % 7] = (220, 30, 30)
    return rgb


def make_album(folder: Path, count: int, corrupt: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        Image.fromarray(photo(index, red=index % 4 != 3)).save(folder / f"photo{index:03d}.png")
    if corrupt:
        (folder / "broken.jpg").write_bytes(b"not a jpeg at all")
    return folder


def outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.png"))}


# --- recipes -----------------------------------------------------------------------------------

def test_example_recipe_parses_and_has_a_stable_digest():
    recipe = parse_recipe(example_json())
    assert [p and p.classes for p in recipe.prompts] == [("person",), None]
    assert recipe.digest == parse_recipe(json.dumps(EXAMPLE, indent=4)).digest
    assert recipe.digest != parse_recipe(TINY).digest


@pytest.mark.parametrize("recipe, message", [
    ({"regions": []}, "needs \"regions\""),
    ({"regions": [{"invert": True, "style": "udnie"}]}, "another region"),
    ({"regions": [{"prompt": "the sky", "style": "udnie"}]}, "region 1 prompt"),
    ({"regions": [{"prompt": "whole", "style": "udnie", "strength": 2}]}, "strength must be"),
    ({"regions": [{"prompt": {"detect": []}, "style": "udnie"}]}, "COCO class names"),
    ({"regions": [{"prompt": "whole", "style": "no_such_painting"}]}, "not a gallery id"),
    ({"regions": [{"prompt": "whole", "style": "udnie"}], "options": {"speed": 3}}, "unknown option 'speed'"),
    ({"regions": [{"prompt": "whole", "style": "udnie"}], "photo": "x.jpg"}, "the inputs are the photos"),
    ({"regions": [{"prompt": "whole", "style": "udnie"}], "engine": "turbo"}, "unknown engine"),
    ("{not json", "not valid JSON"),
])
def test_bad_recipes_get_one_clear_message(recipe, message):
    with pytest.raises(VirtArtError, match=message):
        parse_recipe(recipe if isinstance(recipe, str) else json.dumps(recipe))


def test_prompts_resolve_per_photo_through_the_request_parser():
    from virtart.imageio import Photo

    recipe = parse_recipe(TINY)
    rgb = photo(0)
    request, found = recipe.request_for(Photo(rgb), "photo000.png", red_patch_detector())
    red = (rgb[:, :, 0] > 150).astype(np.float32)
    first, rest = request.regions
    assert np.array_equal(first.mask, red) and np.array_equal(rest.mask, 1 - red)
    assert (first.feather, rest.preserve_color, rest.strength) == (2, "luminance", 0.5)
    assert found[0] == {"prompt": "person", "objects": 1, "area_fraction": round(float(red.mean()), 4)}
    assert found[1] == {"prompt": "everything else", "area_fraction": round(float(1 - red.mean()), 4)}
    # nothing detected: the detected region is left out, "everything else" is the whole picture
    request, found = recipe.request_for(Photo(photo(3, red=False)), "x.png", red_patch_detector())
    assert len(request.regions) == 1 and request.regions[0].mask.all() and found[0]["objects"] == 0
    only_detect = parse_recipe({"regions": [{"prompt": {"detect": "person"}, "style": "udnie"}]})
    with pytest.raises(VirtArtError, match="nothing to repaint: no person found"):
        only_detect.request_for(Photo(photo(3, red=False)), "x.png", red_patch_detector())


def test_mask_file_per_input_is_matched_by_name(tmp_path):
    (tmp_path / "masks").mkdir()
    mask = np.zeros((48, 64), np.uint8)
    mask[:, :32] = 255
    Image.fromarray(mask).save(tmp_path / "masks" / "beach.png")
    from virtart.imageio import Photo

    recipe = parse_recipe({"regions": [{"mask": "masks/{stem}.png", "style": "udnie"}]}, tmp_path)
    request, _ = recipe.request_for(Photo(photo(0)), "/anywhere/beach.jpg", None)
    assert request.regions[0].mask[:, :32].all() and not request.regions[0].mask[:, 32:].any()
    with pytest.raises(VirtArtError, match="no mask dune.png for dune.jpg"):
        recipe.request_for(Photo(photo(0)), "/anywhere/dune.jpg", None)


# --- inputs and manifest ---------------------------------------------------------------------------

def test_inputs_from_folders_lists_and_files(tmp_path):
    album = make_album(tmp_path / "album", 2, corrupt=False)
    (album / "trip").mkdir()
    Image.fromarray(photo(5)).save(album / "trip" / "photo000.png")
    (album / ".hidden.png").write_bytes(b"x")
    (album / "notes.md").write_text("not a photo")
    other = tmp_path / "other"
    other.mkdir()
    Image.fromarray(photo(6)).save(other / "photo001.png")
    listing = tmp_path / "list.txt"
    listing.write_text("# one per line\nother/photo001.png\n")
    items = collect([str(album), str(listing)], tmp_path / "out")
    names = sorted(item.output for item in items)
    assert len(items) == 4 and "trip/photo000.png" in names and "photo000.png" in names
    assert any(name.startswith("photo001~") for name in names)  # two inputs named photo001
    assert all(item.kind == "photo" for item in items)
    assert collect([str(tmp_path / "clip.mp4")], tmp_path / "out")[0].kind == "clip"
    with pytest.raises(VirtArtError, match="no such file or folder"):
        collect([str(tmp_path / "missing")], tmp_path / "out")


def test_manifest_ignores_a_torn_line_and_a_different_recipe(tmp_path):
    (tmp_path / "a.png").write_bytes(b"png")
    writer = manifest.Writer(tmp_path)
    writer.append({"input": "/a.jpg", "output": "a.png", "recipe": "r1", "error": None})
    writer.close()
    with (tmp_path / manifest.NAME).open("a") as handle:
        handle.write('{"input": "/b.jpg", "outp')
    rows = manifest.read(tmp_path)
    assert list(rows) == ["/a.jpg"]
    assert manifest.is_done(rows["/a.jpg"], "r1", tmp_path)
    assert not manifest.is_done(rows["/a.jpg"], "r2", tmp_path)
    (tmp_path / "a.png").unlink()
    assert not manifest.is_done(rows["/a.jpg"], "r1", tmp_path)


# --- the worker, in process --------------------------------------------------------------------

def test_worker_paints_regions_and_reports_a_corrupt_input_as_a_row(tmp_path):
    album = make_album(tmp_path / "album", 2)
    out = tmp_path / "out"
    worker = AlbumWorker(TINY, str(tmp_path), str(out), "cpu", engine_factory=tiny_gatys_engine,
                         detect_factory=red_patch_detector)
    items = collect([str(album)], out)
    rows = worker({"path": [i.path for i in items], "output": [i.output for i in items],
                   "kind": [i.kind for i in items]})
    errors = dict(zip(rows["input"], rows["error"], strict=True))
    assert "not an image" in errors[str(album / "broken.jpg")]
    assert errors[str(album / "photo000.png")] == ""
    regions = json.loads(rows["regions"][rows["input"].index(str(album / "photo000.png"))])
    assert regions[0]["prompt"] == "person" and regions[0]["objects"] == 1
    painted = np.asarray(Image.open(out / "photo000.png").convert("RGB"))
    assert painted.shape == (48, 64, 3) and not np.array_equal(painted, photo(0))
    assert not list(out.rglob("*.part"))


# --- Ray runs -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ray_album(tmp_path_factory):
    pytest.importorskip("ray")
    root = tmp_path_factory.mktemp("ray_album")
    album = make_album(root / "album", 6)
    recipe = parse_recipe(TINY, root)
    return root, album, recipe


@pytest.fixture(scope="module")
def undisturbed(ray_album):
    from virtart.batch.run import run_batch

    root, album, recipe = ray_album
    out = root / "undisturbed"
    summary = run_batch(recipe, [str(album)], out, workers=1, device="cpu",
                        engine_factory=tiny_gatys_engine, detect_factory=red_patch_detector)
    return out, summary


def test_ray_run_writes_every_output_and_a_rerun_skips_them(ray_album, undisturbed):
    from virtart.batch.run import run_batch

    root, album, recipe = ray_album
    out, summary = undisturbed
    assert (summary.done, summary.failed, summary.total) == (6, 1, 7)
    assert len(outputs(out)) == 6 and not list(out.rglob("*.part"))
    rows = [json.loads(line) for line in (out / manifest.NAME).read_text().splitlines()]
    assert len(rows) == 7 and {row["recipe"] for row in rows} == {recipe.digest}
    assert [row for row in rows if row["error"]][0]["input"].endswith("broken.jpg")
    again = run_batch(recipe, [str(album)], out, workers=1, device="cpu",
                      engine_factory=tiny_gatys_engine, detect_factory=red_patch_detector)
    assert (again.skipped, again.done, again.failed) == (6, 0, 1)  # only the corrupt one is tried again


def test_killed_worker_loses_nothing_and_ctrl_c_resumes(ray_album, undisturbed, tmp_path):
    from virtart.batch.run import run_batch

    root, album, recipe = ray_album
    reference = outputs(undisturbed[0])
    out, pid_file = tmp_path / "killed", tmp_path / "worker.pid"
    factory = functools.partial(slow_tiny_gatys, str(pid_file), 1.0)
    killed: list[int] = []

    def kill_one_worker() -> None:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not killed:
            rows = (out / manifest.NAME).read_text().count("\n") if (out / manifest.NAME).exists() else 0
            if rows >= 2 and pid_file.exists():
                pid = int(pid_file.read_text())
                os.kill(pid, signal.SIGKILL)  # in the middle of painting a photo
                killed.append(pid)
            time.sleep(0.2)

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    summary = run_batch(recipe, [str(album)], out, workers=1, device="cpu", engine_factory=factory,
                        detect_factory=red_patch_detector)
    killer.join()
    assert killed, "the worker was never killed"
    assert (summary.done, summary.failed) == (6, 1)
    rerun = run_batch(recipe, [str(album)], out, workers=1, device="cpu", engine_factory=factory,
                      detect_factory=red_patch_detector)
    assert rerun.done == 0 and rerun.skipped == 6
    assert outputs(out) == reference  # each output exactly once, identical to the undisturbed run's
    done_rows = [json.loads(line) for line in (out / manifest.NAME).read_text().splitlines()]
    assert sorted(row["output"] for row in done_rows if not row["error"]) == sorted(reference)
    assert not list(out.rglob("*.part"))

    # Ctrl-C after the first photo: the run stops, the rerun does the rest and only the rest.
    stopped = tmp_path / "stopped"

    def interrupt_after_first_row() -> None:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if (stopped / manifest.NAME).exists() and (stopped / manifest.NAME).read_text().count("\n") >= 1:
                _thread.interrupt_main()
                return
            time.sleep(0.1)

    interrupter = threading.Thread(target=interrupt_after_first_row)
    interrupter.start()
    with pytest.raises(KeyboardInterrupt):
        run_batch(recipe, [str(album)], stopped, workers=1, device="cpu", engine_factory=factory,
                  detect_factory=red_patch_detector)
    interrupter.join()
    first = len([line for line in (stopped / manifest.NAME).read_text().splitlines() if line])
    assert 1 <= first < 7 and not list(stopped.rglob("*.part"))
    resumed = run_batch(recipe, [str(album)], stopped, workers=1, device="cpu", engine_factory=factory,
                        detect_factory=red_patch_detector)
    assert resumed.done + resumed.failed == 7 - resumed.skipped and resumed.skipped >= first - 1
    assert outputs(stopped) == reference


def test_the_app_side_never_imports_ray():
    import subprocess
    import sys

    code = ("import sys, virtart.batch.recipe, virtart.batch.worker, virtart.ui.mcp_tools, virtart.cli.main; "
            "virtart.cli.main.build_parser(); assert 'ray' not in sys.modules, 'ray imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300, cwd=Path(__file__).resolve().parents[2])


@pytest.mark.weights  # the video path paints with the fast engine's shipped Magenta networks
def test_worker_paints_a_clip_with_the_video_entry_point(tmp_path):
    pytest.importorskip("av")
    from tests.support.clips import make_clip
    from virtart.video import io

    clip = make_clip(tmp_path / "clip.mp4", frames=6)
    recipe = {"version": 1, "engine": "fast", "regions": [{"prompt": "whole", "style": "udnie", "strength": 0.8}]}
    worker = AlbumWorker(recipe, str(tmp_path), str(tmp_path / "out"), "cpu")
    (item,) = collect([str(clip)], tmp_path / "out")
    row = worker.process(item.path, item.output, item.kind)
    assert row["error"] == "" and item.output == "clip.mp4"
    info = io.probe(tmp_path / "out" / "clip.mp4")
    assert info.frame_count == 6 and not list((tmp_path / "out").rglob("*.part"))


def test_cli_example_runs_through_the_parser_and_mistakes_are_one_line(tmp_path, capsys):
    from virtart.cli.main import main

    assert main(["batch", "--example"]) == 0
    printed = capsys.readouterr().out
    assert parse_recipe(printed).digest == parse_recipe(EXAMPLE).digest
    assert main(["batch", str(tmp_path / "recipe.json"), str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"error: recipe {tmp_path / 'recipe.json'}: no such file"]
    (tmp_path / "recipe.json").write_text('{"regions": [{"prompt": "whole", "style": "udnie", "strength": -1}]}')
    assert main(["batch", str(tmp_path / "recipe.json"), str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("error: region 1: strength")
    assert main(["batch", str(tmp_path / "recipe.json")]) == 2
    assert "give RECIPE.json, at least one input and --out" in capsys.readouterr().err
    pytest.importorskip("ray")
    (tmp_path / "recipe.json").write_text('{"regions": [{"prompt": "whole", "style": "udnie"}]}')
    album = make_album(tmp_path / "album", 1, corrupt=False)
    assert main(["batch", str(tmp_path / "recipe.json"), str(album), "--out", str(tmp_path / "out"),
                 "--address", "127.0.0.1:1"]) == 2  # nothing listens on port 1: a clear line at once
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: cannot reach the Ray cluster at")

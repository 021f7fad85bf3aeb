"""The public API through ``gradio_client`` against the app launched on 127.0.0.1.

Covers /styles, /segment, /detect, a streamed /stylize (previews, then the final image at
the photo's full size), cancelling (the worker is free at once), a full queue, an
oversized upload and two clients kept apart.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from tests.support.server import launch
from virtart.imageio import save_png

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def url():
    import app

    demo = app.build_app()
    yield launch(demo, max_size=16)
    demo.close()


@pytest.fixture(scope="module")
def client(url: str) -> Client:
    return Client(url, verbose=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory, astronaut) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("client")
    small = np.ascontiguousarray(astronaut[::4, ::4])  # 128x128 keeps the engines quick
    mask = np.zeros((128, 128, 3), np.uint8)
    mask[16:64, 48:112] = 255
    return {"photo": save_png(folder / "photo.png", astronaut), "small": save_png(folder / "small.png", small),
            "mask": save_png(folder / "mask.png", mask)}


# Gatys reports a preview every step on a CPU, so a few steps at 64 px stream several previews.
STREAMING_ENGINE = "gatys"


def stylize_args(files, steps: int) -> dict:
    return {"image": handle_file(str(files["small"])), "regions": json.dumps([{"mask": 0, "style": "starry_night"}]),
            "masks": [handle_file(str(files["mask"]))], "engine": STREAMING_ENGINE, "steps": steps,
            "max_size": 64, "feather": 0, "api_name": "/stylize"}


def test_public_endpoints_are_listed_and_the_click_is_private(client: Client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/segment", "/detect", "/stylize", "/styles"} <= set(endpoints)
    assert not any("click" in name for name in endpoints)


def test_styles(client: Client):
    catalogue = client.predict(api_name="/styles")
    assert {"starry_night", "great_wave"} <= {entry["id"] for entry in catalogue}
    assert all({"title", "painter"} <= set(entry) for entry in catalogue)


def test_segment(client: Client, files, astronaut: np.ndarray):
    mask_path, info = client.predict(image=handle_file(str(files["photo"])), points="[[300, 150, 1], [20, 20, 0]]",
                                     api_name="/segment")
    mask = np.asarray(Image.open(mask_path))
    assert mask.shape == astronaut.shape[:2] and mask[150, 300] == 255 and mask[20, 20] == 0
    assert info["backend"] and set(np.unique(mask)) <= {0, 255}


def test_segment_takes_the_prompt_json_form(client: Client, files):
    old, _ = client.predict(image=handle_file(str(files["photo"])), points="[[300, 150, 1], [20, 20, 0]]",
                            api_name="/segment")
    new, info = client.predict(image=handle_file(str(files["photo"])),
                               prompt=json.dumps({"points": [[300, 150, 1], [20, 20, 0]]}), api_name="/segment")
    assert np.array_equal(np.asarray(Image.open(old)), np.asarray(Image.open(new))) and info["backend"]


def test_segment_with_a_box_and_strokes(client: Client, files, astronaut: np.ndarray):
    mask_path, info = client.predict(image=handle_file(str(files["photo"])), box="[100, 40, 420, 300]",
                                     strokes='[{"points": [[280, 150], [320, 160]], "label": 1}]', api_name="/segment")
    mask = np.asarray(Image.open(mask_path))
    assert mask.shape == astronaut.shape[:2] and mask[155, 300] == 255 and mask[:35].max() == 0
    for box, strokes, message in (("[5, 5, 5, 50]", "", "zero area"), ("[600, 5, 700, 50]", "", "outside"),
                                  ("", '[{"points": [[5, 5]]}]', "two points")):
        with pytest.raises(Exception, match=message):
            client.predict(image=handle_file(str(files["photo"])), box=box, strokes=strokes, api_name="/segment")


def test_segment_bad_input_is_a_clear_error(client: Client, files, tmp_path: Path):
    with pytest.raises(Exception, match="outside"):
        client.predict(image=handle_file(str(files["photo"])), points="[[999, 5, 1]]", api_name="/segment")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(Exception, match="not an image"):
        client.predict(image=handle_file(str(text)), points="[[5, 5, 1]]", api_name="/segment")


def test_detect(client: Client, files):
    try:
        objects, masks = client.predict(image=handle_file(str(files["photo"])), api_name="/detect")
    except Exception as exc:  # noqa: BLE001
        if "not available" in str(exc):
            pytest.skip(str(exc))
        raise
    assert len(objects) == len(masks)
    for obj, item in zip(objects, masks, strict=True):
        assert {"label", "score", "box"} <= set(obj) and len(obj["box"]) == 4
        assert np.asarray(Image.open(item["image"])).shape[:2] == (512, 512)
    assert any(obj["label"] == "person" for obj in objects)


def test_stylize_streams_previews_then_the_full_size_png(client: Client, files, styles_dir: Path):
    job = client.submit(**stylize_args(files, steps=3))
    image_path, png_path, report = job.result(timeout=240)
    outputs = job.outputs()
    previews = [o for o in outputs if o[1] is None]
    assert len(previews) >= 2, outputs
    final = np.asarray(Image.open(png_path).convert("RGB"))
    original = np.asarray(Image.open(files["small"]).convert("RGB"))
    assert final.shape == original.shape == np.asarray(Image.open(image_path).convert("RGB")).shape
    outside = np.asarray(Image.open(files["mask"]).convert("L")) < 128
    assert np.array_equal(final[outside], original[outside])
    assert report["final"] and report["report"]["outside_changed_pixels"] == 0
    assert report["report"]["stopped"]["reason"] == "steps" and report["report"]["steps"] == 3  # a number: exactly
    assert previews[0][2]["stage"] == "start"  # the starting image comes first


def test_stylize_without_region_is_a_clear_error(client: Client, files):
    with pytest.raises(Exception, match="no region"):
        client.predict(image=handle_file(str(files["small"])), api_name="/stylize")


def test_cancel_frees_the_worker_at_once(client: Client, files, styles_dir: Path):
    long_job = client.submit(**stylize_args(files, steps=500))
    deadline = time.time() + 120
    while not any(o[1] is None for o in long_job.outputs()) and time.time() < deadline:
        time.sleep(0.1)
    assert long_job.outputs(), "no preview arrived"
    long_job.cancel()
    started = time.time()
    quick = client.submit(**stylize_args(files, steps=1))
    quick.result(timeout=120)
    assert time.time() - started < 60
    assert len(long_job.outputs()) < 500


def test_two_clients_are_kept_apart(url: str, files, tmp_path: Path, astronaut: np.ndarray):
    flipped = save_png(tmp_path / "flipped.png", np.ascontiguousarray(astronaut[:, ::-1]))
    jobs = {"a": (files["photo"], "[[300, 150, 1]]"), "b": (flipped, "[[211, 150, 1]]")}
    results: dict[str, np.ndarray] = {}

    def run(name: str) -> None:
        path, points = jobs[name]
        mask_path, _ = Client(url, verbose=False).predict(image=handle_file(str(path)), points=points,
                                                          api_name="/segment")
        results[name] = np.asarray(Image.open(mask_path))

    threads = [threading.Thread(target=run, args=(name,)) for name in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results["a"][150, 300] == 255 and results["b"][150, 211] == 255
    assert not np.array_equal(results["a"], results["b"])


def test_full_queue_and_oversized_upload_get_friendly_messages(files, styles_dir: Path, monkeypatch: pytest.MonkeyPatch):
    import app

    monkeypatch.setenv("VIRTART_HEAVY_CONCURRENCY", "1")
    demo = app.build_app()
    small_url = launch(demo, max_size=1, max_file_size=200_000)
    try:
        client = Client(small_url, verbose=False)
        busy = client.submit(**stylize_args(files, steps=500))  # runs
        deadline = time.time() + 120
        while not busy.outputs() and time.time() < deadline:
            time.sleep(0.1)
        waiting = client.submit(**stylize_args(files, steps=1))  # fills the queue (size 1)
        time.sleep(1.0)
        with pytest.raises(Exception, match="(?i)queue is full"):
            client.predict(**stylize_args(files, steps=1))
        busy.cancel()
        waiting.cancel()
        with pytest.raises(Exception, match="(?i)exceeds the maximum file size"):
            client.predict(image=handle_file(str(files["photo"])), points="[[5, 5, 1]]", api_name="/segment")
    finally:
        demo.close()


def test_stylize_takes_the_request_json_form(client: Client, files, styles_dir: Path):
    request = {"version": 1, "engine": "fast", "regions": [{"mask": 0, "style": "udnie", "feather": 0}]}
    try:
        _, png_path, report = client.predict(image=handle_file(str(files["small"])), request=json.dumps(request),
                                             masks=[handle_file(str(files["mask"]))], api_name="/stylize")
    except Exception as exc:  # noqa: BLE001
        if "not available" in str(exc):
            pytest.skip(str(exc))
        raise
    final = np.asarray(Image.open(png_path).convert("RGB"))
    outside = np.asarray(Image.open(files["mask"]).convert("L")) < 128
    assert np.array_equal(final[outside], np.asarray(Image.open(files["small"]).convert("RGB"))[outside])
    assert report["report"]["regions"][0]["feather"] == 0 and report["report"]["engine"] == "fast"
    with pytest.raises(Exception, match="read only from a request file"):
        client.predict(image=handle_file(str(files["small"])), api_name="/stylize",
                       request=json.dumps({"regions": [{"mask": "/etc/hosts", "style": "udnie"}]}))


def test_fast_engine_with_the_single_mask_form(client: Client, files, styles_dir: Path):
    try:
        image_path, png_path, report = client.predict(
            image=handle_file(str(files["small"])), mask=handle_file(str(files["mask"])), style="udnie",
            engine="fast", feather=0, api_name="/stylize")
    except Exception as exc:  # noqa: BLE001
        if "not available" in str(exc):
            pytest.skip(str(exc))
        raise
    final = np.asarray(Image.open(png_path).convert("RGB"))
    original = np.asarray(Image.open(files["small"]).convert("RGB"))
    outside = np.asarray(Image.open(files["mask"]).convert("L")) < 128
    assert final.shape == original.shape and np.array_equal(final[outside], original[outside])
    assert report["report"]["engine"] == "fast" and report["report"]["outside_changed_pixels"] == 0


def test_the_feather_parameter_takes_auto_or_px_and_names_anything_else(client: Client, files, styles_dir: Path):
    args = {"image": handle_file(str(files["small"])), "mask": handle_file(str(files["mask"])), "style": "udnie",
            "engine": "fast", "api_name": "/stylize"}
    try:
        _, _, report = client.predict(**args)  # the default: "auto"
    except Exception as exc:  # noqa: BLE001
        if "not available" in str(exc):
            pytest.skip(str(exc))
        raise
    assert report["report"]["regions"][0]["feather"] == "auto"
    assert client.predict(**args, feather="6")[2]["report"]["regions"][0]["feather"] == 6
    with pytest.raises(Exception, match="feather must be 'auto' or a number of px") as refused:
        client.predict(**args, feather="soft")
    assert "region" not in str(refused.value)

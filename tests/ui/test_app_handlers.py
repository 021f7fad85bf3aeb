"""The app's handlers without a browser or a server: state changes, click mapping, messages.

Clicks arrive as real ``gr.SelectData`` objects; the segmenter is the library's own
checkpoint-free offline backend; stylizations run the real engines at tiny sizes.
"""

from __future__ import annotations

import json
import threading
import warnings
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import numpy as np
import pytest

from virtart.engines import registry
from virtart.engines.registry import engine_spec, gpu_seconds, parse_options
from virtart.errors import VirtArtError, warn
from virtart.imageio import Photo, save_png
from virtart.ui import api, gpu, messages, page, photo_handlers, region_handlers, runner, stylize_handlers
from virtart.ui.state import NEXT_REGION, ResultView, Session, new_session, shown_mask


def registry_label(name: str) -> str:
    return registry.ENGINES[name].label


def click(x: float, y: float) -> gr.SelectData:
    return gr.SelectData(None, {"index": [x, y], "value": None})


@pytest.fixture()
def photo_file(tmp_path: Path, astronaut: np.ndarray) -> Path:
    return save_png(tmp_path / "astronaut.png", astronaut)


@pytest.fixture()
def loaded(photo_file: Path) -> Session:
    return photo_handlers.upload_photo(str(photo_file), new_session()).session


def needs_segmenter() -> None:
    try:
        photo_handlers.segmenter()
    except VirtArtError as exc:
        pytest.skip(str(exc))


def test_upload_shows_photo_and_resets_session(loaded: Session, astronaut: np.ndarray):
    assert loaded.photo.size == (512, 512)
    assert np.array_equal(loaded.display, astronaut) and loaded.scale == 1.0
    assert loaded.points == [] and loaded.regions == []


def test_removing_the_photo_starts_over_but_keeps_the_style(loaded: Session):
    loaded.look, loaded.points = replace(loaded.look, style="udnie"), [(1.0, 1.0, 1)]
    update = photo_handlers.clear_photo(loaded)
    session = update.session
    assert session.photo is None and session.points == [] and session.look.style == "udnie"
    assert update.thumbs == [] and "Upload a photo" in update.status and update.result is None


def test_large_photo_is_displayed_smaller_and_clicks_map_back(tmp_path: Path):
    big = np.zeros((1536, 2048, 3), np.uint8)
    update = photo_handlers.upload_photo(str(save_png(tmp_path / "big.png", big)), new_session())
    session, view = update.session, update.photo
    assert view.shape == (768, 1024, 3) and session.scale == pytest.approx(2.0)
    assert photo_handlers.display_to_original(session, 100, 50) == (200.5, 100.5)
    assert photo_handlers.display_to_original(session, 1023.9, 767.9) == (2047.0, 1535.0)


@pytest.mark.parametrize("content, message", [
    (b"this is not an image", "not an image"),
    (b"", "empty"),
])
def test_bad_upload_is_refused_and_work_is_kept(tmp_path: Path, loaded: Session, content: bytes, message: str):
    loaded.points = [(10.0, 10.0, 1)]
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    with pytest.raises(VirtArtError, match=message):
        photo_handlers.upload_photo(str(bad), loaded)
    assert loaded.points == [(10.0, 10.0, 1)] and loaded.photo.size == (512, 512)


def test_tiny_and_oversized_photos_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    tiny = save_png(tmp_path / "tiny.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(VirtArtError, match="too small"):
        photo_handlers.upload_photo(str(tiny), new_session())
    monkeypatch.setenv("VIRTART_APP_MAX_PIXELS", "10000")
    big = save_png(tmp_path / "big.png", np.zeros((200, 200, 3), np.uint8))
    with pytest.raises(VirtArtError, match="over the limit"):
        photo_handlers.upload_photo(str(big), new_session())


def test_click_before_upload_says_so():
    with pytest.raises(VirtArtError, match="upload a photo"):
        photo_handlers.click_photo(new_session(), photo_handlers.INCLUDE, click(5, 5))


def test_clicks_make_a_mask_then_undo_and_clear(loaded: Session):
    needs_segmenter()
    update = photo_handlers.click_photo(loaded, photo_handlers.INCLUDE, click(300, 150))
    session, view, status = update.session, update.photo, update.status
    first = session.mask.copy()
    assert first.shape == (512, 512) and first[150, 300] >= 0.5
    assert "1 click" in status and not np.array_equal(view, session.display)  # overlay and dot drawn
    session = photo_handlers.click_photo(session, photo_handlers.EXCLUDE, click(20, 20)).session
    assert session.points[-1] == (20.0, 20.0, 0) and session.mask[20, 20] < 0.5
    session = photo_handlers.undo_click(session).session
    assert session.points == [(300.0, 150.0, 1)]
    assert np.array_equal(session.mask, first)
    update = photo_handlers.clear_clicks(session)
    session, view = update.session, update.photo
    assert session.points == [] and session.mask is None and np.array_equal(view, session.display)


def test_regions_add_everything_else_invert_restyle_delete(loaded: Session):
    square = np.zeros((512, 512), np.float32)
    square[100:200, 100:300] = 1.0
    loaded.mask = square
    loaded.look = replace(loaded.look, strength=0.7)
    update = region_handlers.add_click_region(loaded)
    session = update.session
    assert len(session.regions) == 1 and session.mask is None and session.regions[0].strength == 0.7
    assert len(update.thumbs) == 1 and update.picker["choices"][1:] == [("1. selection 1", 0)]
    assert "1 region" in update.status and update.picker["value"] == 0 and "region 1" in update.caption
    session = region_handlers.add_everything_else(session).session
    rest = session.regions[1].mask
    assert np.all((rest >= 0.5) != (square >= 0.5))  # exactly the complement
    with pytest.raises(VirtArtError, match="nothing is left"):
        region_handlers.add_everything_else(session)
    assert len(session.regions) == 2
    region_handlers.pick_region(session, 0)
    region_handlers.set_feather(session, 9)
    update = region_handlers.set_strength(session, 0.5)
    picked = session.regions[0]
    assert picked.feather == 9 and picked.strength == 0.5 and update.strength == 0.5 and "feather 9" in update.thumbs[0][1]
    assert session.regions[1].strength == 0.7 == session.look.strength  # the others keep theirs
    session = region_handlers.invert_region(session, 0).session
    assert session.regions[0].invert and np.array_equal(shown_mask(session.regions[0]), rest)
    update = region_handlers.delete_region(session, 1)
    assert len(update.session.regions) == 1 and len(update.thumbs) == 1
    with pytest.raises(VirtArtError, match="choose a region"):
        region_handlers.delete_region(session, 5)


def test_add_region_without_a_selection_is_explained(loaded: Session):
    with pytest.raises(VirtArtError, match="click on the photo first"):
        region_handlers.add_click_region(loaded)
    with pytest.raises(VirtArtError, match="upload a photo"):
        region_handlers.add_everything_else(new_session())


@pytest.mark.weights
def test_detected_objects_become_regions(loaded: Session):
    update = region_handlers.detect(loaded)
    session, choices = update.session, update.detected
    labels = [label for label, _ in choices["choices"]]
    assert any(label.startswith("person") for label in labels), labels
    person = next(index for label, index in choices["choices"] if label.startswith("person"))
    session = region_handlers.add_detected(session, [person]).session
    assert len(session.regions) == 1 and session.regions[0].name.startswith("person")
    assert session.regions[0].mask.shape == (512, 512) and 0.05 < session.regions[0].mask.mean() < 0.9
    with pytest.raises(VirtArtError, match="tick at least one"):
        region_handlers.add_detected(session, [])
    assert len(session.regions) == 1


def test_a_click_on_a_detected_objects_mask_corrects_that_mask(loaded: Session, monkeypatch):
    """After *Edit* on a detected object, the first click reaches the segmenter with the
    object's mask as its previous answer (so it corrects it), not as a fresh cut from the box."""
    from virtart.segmentation.base import ImageState, Prediction
    from virtart.segmentation.corrections import newest_prompts
    from virtart.segmentation.detect import Detection

    calls = []

    class Recorder:
        name = "recorder"

        def set_image(self, image):
            return ImageState(key="photo", size=(image.shape[1], image.shape[0]), data=None)

        def predict(self, state, points, box=None, previous=None, strokes=(), prior=None):
            calls.append((state, list(points), previous))
            return Prediction(np.asarray(previous.mask), backend=self.name, extra={"image_key": state.key})

    detected = np.zeros((512, 512), np.float32)
    detected[100:300, 150:350] = 1
    loaded.detections = [Detection("dog", 0.9, (150.0, 100.0, 350.0, 300.0), detected)]
    monkeypatch.setattr(photo_handlers, "segmenter", lambda: Recorder())
    session = region_handlers.add_detected(loaded, ["0"]).session
    session = region_handlers.edit_region(session, 0).session
    session = photo_handlers.click_photo(session, photo_handlers.INCLUDE, click(200, 200)).session
    state, points, previous = calls[-1]
    assert np.array_equal(previous.mask, detected)
    assert newest_prompts(state, points, (), previous) == points  # the click is a correction of it
    assert np.array_equal(session.mask, detected)


def test_style_gallery_and_own_painting(tmp_path: Path, loaded: Session, styles_dir: Path):
    from virtart import styles

    index = [p.id for p in styles.available()].index("great_wave")
    update = region_handlers.select_style(loaded, gr.SelectData(None, {"index": index, "value": None}))
    session = update.session
    assert session.look.style == "great_wave" and "Hokusai" in update.caption and "next new region" in update.caption
    not_image = tmp_path / "painting.jpg"
    not_image.write_text("hello")
    with pytest.raises(VirtArtError, match="not an image"):
        region_handlers.upload_style(session, str(not_image))
    assert session.look.style == "great_wave"
    painting = save_png(tmp_path / "mine.png", np.full((32, 32, 3), 90, np.uint8))
    update = region_handlers.upload_style(session, str(painting))
    assert isinstance(session.look.style, np.ndarray) and "your own" in update.caption


def test_stylize_without_region_keeps_the_session(loaded: Session):
    from virtart.ui import page

    loaded.points = [(1.0, 2.0, 1)]
    updates = list(page.stream(stylize_handlers.stylize, loaded, "auto", True, 10, 128, "Full resolution",
                               also=("run_status",)))
    assert len(updates) == 1 and "Not done: No region" in updates[0].run_status  # says why, not "Waiting..."
    assert set(updates[0].changed()) == {"notice", "run_status"}  # the photo, regions and result stay
    assert loaded.points == [(1.0, 2.0, 1)]


@pytest.mark.weights
def test_stylize_streams_previews_then_the_full_size_result(loaded: Session, astronaut: np.ndarray, styles_dir,
                                                            monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(stylize_handlers, "PREVIEW_INTERVAL", 0.0)  # show every preview the engine makes
    square = np.zeros((512, 512), np.float32)
    square[64:192, 256:448] = 1.0
    loaded.mask = square
    region_handlers.add_click_region(loaded)
    region_handlers.set_feather(loaded, 0)
    quality = registry_label("gatys")
    outputs = list(stylize_handlers.stylize(loaded, quality, False, 2, 64, "Full resolution"))
    previews = [o for o in outputs[1:-1] if o.result is not page.KEEP]
    assert len(previews) >= 3 and previews[0].run_status.startswith("Starting from the Fast engine's result")
    final = outputs[-1]
    session, status, download, figure = final.session, final.run_status, final.download["value"], final.plot
    result = np.asarray(__import__("PIL.Image").Image.open(download).convert("RGB"))
    assert result.shape == astronaut.shape and session.result.download == download
    assert final.download["label"] == "Download the full-resolution PNG (512x512 px)"
    assert np.array_equal(result[square < 0.5], astronaut[square < 0.5])  # feather 0: outside untouched
    assert not np.array_equal(result[square >= 0.5], astronaut[square >= 0.5])
    assert "changed outside the regions: 0" in status and "after 2 steps (as set)" in status and figure is not None


def test_the_soft_edge_is_automatic_by_default_or_a_number_of_px(loaded: Session):
    square = np.zeros((512, 512), np.float32)
    square[100:200, 100:300] = 1.0
    loaded.mask = square
    update = region_handlers.add_click_region(loaded)
    assert loaded.regions[0].feather == "auto" and update.edge_auto is True
    assert update.feather["interactive"] is False and update.feather["value"] == 4  # 512x512: the photo's width
    update = region_handlers.set_edge_auto(loaded, False, 4)
    assert loaded.regions[0].feather == 4.0 and update.edge_auto is False and update.feather["interactive"] is True
    region_handlers.set_feather(loaded, 12)
    assert loaded.regions[0].feather == 12.0 and "feather 12" in region_handlers.regions_update(loaded).thumbs[0][1]
    with pytest.raises(VirtArtError, match="soft edge"):
        region_handlers.set_edge_auto(loaded, False, -3)
    assert loaded.regions[0].feather == 12.0
    region_handlers.set_edge_auto(loaded, True, 12)
    assert loaded.regions[0].feather == "auto" and stylize_handlers.region_requests(loaded)[0].feather == "auto"
    region_handlers.pick_region(loaded, NEXT_REGION)  # the next region's edge: only the caption and the edge redrawn
    update = region_handlers.set_edge_auto(loaded, False, 6)
    assert loaded.look.feather == 6.0 and update.edge_auto is False and update.thumbs is page.KEEP


def test_a_stopped_runs_download_says_the_previews_size():
    from PIL import Image

    big = Session()
    big.photo = SimpleNamespace(size=(2048, 1536), name="holiday")
    big.preview = ResultView(np.zeros((384, 512, 3), np.uint8), np.full((384, 512, 3), 90, np.uint8))
    update = stylize_handlers.stopped(big)
    assert update.download["label"] == "Download the PNG (512x384 px)", update.download
    assert Image.open(update.download["value"]).size == (512, 384) and "full-resolution" not in update.download["label"]
    assert stylize_handlers.last_result(big).download["label"] == update.download["label"]
    assert stylize_handlers.download_button(None)["label"] == stylize_handlers.DOWNLOAD_LABEL


def test_unknown_engine_and_bad_steps_are_user_errors():
    with pytest.raises(VirtArtError, match="unknown engine"):
        engine_spec("turbo")
    with pytest.raises(VirtArtError, match="steps"):
        parse_options("gatys", {"steps": float("nan"), "max_size": 512})
    assert parse_options("gatys", {"steps": "auto"}).steps == parse_options("gatys", {"steps": ""}).steps == "auto"
    assert parse_options("Quality (Gatys)", {"steps": "40"}).steps == 40
    for bad in ("many", "nan", float("inf"), True):
        with pytest.raises(VirtArtError, match="steps"):
            parse_options("gatys", {"steps": bad})


def test_api_requests_take_the_one_json_form(astronaut: np.ndarray, tmp_path: Path, styles_dir):
    photo = Photo(astronaut, None, "astronaut")
    half = np.zeros((512, 512, 3), np.uint8)
    half[:, :256] = 255
    mask_path = str(save_png(tmp_path / "mask.png", half))
    request = api.stylize_request(photo, '[{"mask": 0, "style": "udnie", "strength": 0.5, "invert": true}]',
                                  [mask_path], [], engine="fast")
    region = request.regions[0]
    assert region.style_name == "udnie" and region.strength == 0.5 and region.mask[0, 300] == 1 > region.mask[0, 10]
    single = api.stylize_request(photo, "", [], [mask_path], mask_path, "0", engine="fast")  # the first upload
    assert single.regions[0].style_name == "custom"
    whole = api.stylize_request(photo, masks=[mask_path], request=json.dumps(
        {"version": 1, "engine": "fast", "regions": [{"mask": 0, "style": "udnie", "feather": 1}]}))
    assert whole.engine == "fast" and whole.regions[0].feather == 1.0
    for text, message in (('{"regions": [{"mask": 0, "style": "udnie"}], "options": {"device": "cuda:7"}}',
                           "the server's to choose"), ("{broken", "not valid JSON")):
        with pytest.raises(VirtArtError, match=message):
            api.stylize_request(photo, masks=[mask_path], request=text)
    for regions, message in (('[{"mask": 3, "style": "udnie"}]', "mask index 3"),
                             ('[{"mask": 0, "style": "nope"}]', "not a gallery id"),
                             ('[{"mask": "/etc/hosts", "style": "udnie"}]', "read only from a request file"),
                             ("{", "not valid JSON"), ("", "no region")):
        with pytest.raises(VirtArtError, match=message):
            api.stylize_request(photo, regions, [mask_path], [], engine="fast")


def test_segment_api_returns_a_mask_at_the_photo_size(photo_file: Path):
    needs_segmenter()
    mask, info = api.segment_api(str(photo_file), "[[300, 150, 1]]")
    assert mask.shape == (512, 512) and mask.dtype == np.uint8 and mask[150, 300] == 255
    assert info["backend"] and 0 < info["area_fraction"] < 1
    same, _ = api.segment_api(str(photo_file), prompt='{"points": [[300, 150, 1]]}')  # the prompt's JSON form
    assert np.array_equal(same, mask)
    with pytest.raises(gr.Error, match="outside"):
        api.segment_api(str(photo_file), "[[900, 150, 1]]")


def test_warnings_become_toasts_per_thread(monkeypatch: pytest.MonkeyPatch):
    toasts: list[tuple[str, str]] = []
    monkeypatch.setattr(messages.gr, "Warning", lambda text: toasts.append((threading.current_thread().name, text)))
    barrier = threading.Barrier(2)

    @messages.user_facing
    def handler(name: str) -> None:
        barrier.wait()  # both handlers are inside their capture at once
        warn(f"adjusted for {name}")
        barrier.wait()

    showwarning = warnings.showwarning
    threads = [threading.Thread(target=handler, args=(n,), name=n) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(toasts) == [("a", "adjusted for a"), ("b", "adjusted for b")]
    assert warnings.showwarning is showwarning  # no process-wide change per request


def test_a_model_fallback_toast_is_short_and_the_log_has_the_details(monkeypatch, caplog, tmp_path: Path):
    """A visitor reads which model serves; the file paths and the fix go to the server's log."""
    from virtart import checkpoints

    toasts: list[str] = []
    monkeypatch.setattr(messages.gr, "Warning", toasts.append)
    monkeypatch.setenv("VIRTART_CHECKPOINTS", str(tmp_path))

    def build(checkpoint):
        if checkpoint.spec.name == "vgg19":
            raise ValueError("truncated file")
        return checkpoint.spec.name

    monkeypatch.setattr(checkpoints, "resolve", lambda name: checkpoints.Checkpoint(
        checkpoints.REGISTRY[name], tmp_path / f"{name}.bin", "a test folder"))

    @messages.user_facing
    def handler():
        return checkpoints.load_first(["vgg19", "vgg16-offline"], build, "Quality engine network")[1]

    with caplog.at_level("WARNING", logger="virtart"):
        assert handler() == "vgg16-offline"
    assert toasts == ["Quality engine network: using vgg16-offline, as vgg19 is not available here"]
    assert "truncated file" in caplog.text and str(tmp_path) in caplog.text


def test_gpu_helper_is_a_no_op_here_and_sizes_requests():
    def fn(x):
        return x

    assert gpu.on_gpu(duration=10)(fn) is fn
    assert gpu_seconds("fast", 300, 512) < gpu_seconds("gatys", 300, 1024) <= 120


def test_result_files_are_bounded(tmp_path: Path):
    store = runner.ResultFiles(tmp_path, keep=3)
    paths = [store.save(np.zeros((8, 8, 3), np.uint8)) for _ in range(5)]
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(Path(p).name for p in paths[-3:])


def test_sweeper_removes_only_old_empty_upload_leftovers(tmp_path: Path):
    import os
    import time

    from virtart.ui import tempfiles

    old, fresh, real = tmp_path / "tmpold", tmp_path / "tmpnew", tmp_path / "tmpdata"
    for path in (old, fresh):
        path.touch()
    real.write_bytes(b"x")
    past = time.time() - 100
    os.utime(old, (past, past))
    os.utime(real, (past, past))
    assert tempfiles.sweep(tmp_path, max_age=50) == 1
    assert not old.exists() and fresh.exists() and real.exists()


def test_tracked_files_go_after_the_ttl_except_kept_ones(tmp_path: Path):
    from types import SimpleNamespace

    from virtart.ui import tempfiles

    served, kept = [str(tmp_path / name) for name in ("a.png", "b.png")], str(tmp_path / "gallery.png")
    for path in (*served, kept):
        Path(path).write_bytes(b"x")
    tracked = {*served, kept}
    blocks = SimpleNamespace(blocks={1: SimpleNamespace(keep_in_cache={kept})}, temp_file_sets=[tracked])
    assert tempfiles.sweep_tracked(blocks, max_age=3600) == 0
    assert tempfiles.sweep_tracked(blocks, max_age=-1) == 2  # ctime cannot be backdated: a negative TTL
    assert tracked == {kept} and Path(kept).exists() and not any(Path(p).exists() for p in served)


def test_tracked_sweep_survives_uploads_arriving_meanwhile(tmp_path: Path):
    """Gradio 6.31's own cleaner dies here with "Set changed size during iteration"."""
    import threading
    import time
    from types import SimpleNamespace

    from virtart.ui import tempfiles

    tracked: set[str] = set()
    blocks = SimpleNamespace(blocks={}, temp_file_sets=[tracked])
    done = threading.Event()

    def uploads() -> None:
        index = 0
        while not done.is_set():
            path = tmp_path / f"upload-{index}.png"
            path.write_bytes(b"x")
            tracked.add(str(path))
            index += 1

    thread = threading.Thread(target=uploads)
    thread.start()
    removed, deadline = 0, time.monotonic() + 10
    try:
        while removed < 500 and time.monotonic() < deadline:
            removed += tempfiles.sweep_tracked(blocks, max_age=-1)
    finally:
        done.set()
        thread.join()
    assert removed >= 500


def test_photo_component_hands_the_upload_over_undecoded(tmp_path: Path):
    from gradio.data_classes import ImageData
    from PIL import Image

    from virtart.ui.components import photo_image

    component = photo_image()
    assert component.get_block_name() == "image"
    deep = tmp_path / "deep.png"
    Image.fromarray(np.full((20, 30), 40000, np.uint16)).save(deep)
    assert component.preprocess(ImageData(path=str(deep), orig_name="deep.png")) == str(deep)
    session = photo_handlers.upload_photo(str(deep), new_session()).session
    assert session.photo.size == (30, 20) and int(session.photo.rgb[0, 0, 0]) == round(40000 * 255 / 65535)
    fake = tmp_path / "fake.png"
    fake.write_text("<html>not an image</html>")
    with pytest.raises(VirtArtError, match="not an image"):
        photo_handlers.upload_photo(component.preprocess(ImageData(path=str(fake), orig_name="fake.png")),
                                    new_session())


def test_loss_plot_starts_at_step_0_and_marks_the_start():
    from virtart.ui import render

    history = [(step, {0: {"style": 1.0 / step, "content": 0.5}, 1: {"style": 2.0 / step, "content": 0.4}})
               for step in range(1, 6)]
    axes = render.loss_figure(history, next(iter(registry.ENGINES))).axes[0]
    labels = [line.get_label() for line in axes.get_lines()]
    assert labels == ["1 style", "1 content", "2 style", "2 content"]  # one legend entry a line
    assert len(axes.get_legend().get_texts()) == len(axes.get_lines()) and axes.get_yscale() == "log"
    assert any("started from" in text.get_text() for text in axes.texts) and axes.get_xlim()[0] == 0

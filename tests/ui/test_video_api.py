"""``/stylize_video`` through ``gradio_client``: a clip comes back as an MP4; a bad upload gets one
clear error and the server keeps serving."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.server

pytest.importorskip("av")
gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

from tests.support.clips import make_clip  # noqa: E402
from tests.support.server import launch  # noqa: E402
from virtart.video import io  # noqa: E402


@pytest.fixture(scope="module")
def client():
    import app

    demo = app.build_app()
    url = launch(demo, max_size=8)
    yield Client(url, verbose=False)
    demo.close()


def test_stylize_video_endpoint_and_bad_upload(client, tmp_path, styles_dir):
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    with pytest.raises(Exception, match="not a video"):
        client.predict(handle_file(str(bad)), api_name="/stylize_video")
    clip = make_clip(tmp_path / "clip.mp4", frames=6, audio="aac")
    preview, mp4, progress = client.predict(handle_file(str(clip)), "[[20, 28, 1]]", "", "", None, "starry_night",
                                            1.0, "", 0, 4.0, api_name="/stylize_video")
    assert progress["final"] and progress["report"]["frames"] == 6
    written = io.probe(mp4)
    assert written.size == (96, 64) and written.audio_codec == "aac"


def click(x: float, y: float):
    import gradio as gr

    return gr.SelectData(None, {"index": [x, y], "value": None})


def two_regions(clip: str):
    """The tab's session after the keyframe was shown, a region made by a click and one by a
    box, each given its own gallery painting (the photo tab's handlers)."""
    import gradio as gr

    from virtart import styles
    from virtart.ui import photo_handlers, region_handlers, video_handlers
    from virtart.ui.state import new_session

    session = new_session()
    video_handlers.show_keyframe(clip, 0, session)
    photo_handlers.click_photo(session, photo_handlers.INCLUDE, click(20, 28))
    region_handlers.add_click_region(session)
    region_handlers.select_style(session, gr.SelectData(None, {"index": 1, "value": None}))
    for corner in ((60, 40), (90, 60)):
        photo_handlers.click_photo(session, photo_handlers.BOX, click(*corner))
    region_handlers.add_click_region(session)
    region_handlers.select_style(session, gr.SelectData(None, {"index": 3, "value": None}))
    paintings = [p.id for p in styles.available()]
    assert [r.style for r in session.regions] == [paintings[1], paintings[3]]
    return session


@pytest.fixture()
def tiny_engine(monkeypatch, tiny_fast):
    from virtart.ui import video_handlers

    monkeypatch.setattr(video_handlers, "ENGINE", tiny_fast)
    return tiny_fast


def test_video_tab_handlers(tmp_path, styles_dir, tiny_engine):
    """The tab without a browser: the keyframe becomes the tab's photo and the original plays;
    two regions with two paintings; Stylize streams the painted keyframe first, frames done with
    the time left, then the MP4 painted with both paintings."""
    from virtart.errors import VirtArtError
    from virtart.ui import video_handlers
    from virtart.ui.state import new_session

    clip = str(make_clip(tmp_path / "clip.mp4", frames=4))
    session = new_session()
    update = video_handlers.show_keyframe(clip, 0, session)
    assert update.photo.shape == (64, 96, 3) and "96x64" in update.status and update.original == clip
    assert update.result is None and update.download is None  # a new clip: the last result goes
    session = two_regions(clip)
    job = video_handlers.VideoJob()
    updates = list(video_handlers.stylize_clip(clip, 0, session, job))
    assert updates[1].run_status.startswith("Keyframe painted") and updates[1].result.shape == (64, 96, 3)
    assert any(u.run_status.startswith("Frame ") for u in updates[2:-1])
    path, text = updates[-1].download, updates[-1].run_status
    assert path.endswith(".mp4") and io.probe(path).size == (96, 64) and text.startswith("Done: 4 frames")
    assert job.run is None and video_handlers.stop_clip(job).run_status is video_handlers.KEEP
    with pytest.raises(VirtArtError, match="not a video"):
        (tmp_path / "bad.mp4").write_text("nope")
        video_handlers.show_keyframe(str(tmp_path / "bad.mp4"), 0, new_session())
    with pytest.raises(VirtArtError, match="keyframe number changed"):
        next(video_handlers.stylize_clip(clip, 2, session, job))


def test_video_tab_paints_each_region_in_its_own_painting(tmp_path, styles_dir, tiny_engine):
    """Each region of the clip is painted in its own painting: giving the box region the click
    region's painting changes the box region only; pixels outside both stay (codec's error)."""
    import gradio as gr

    from virtart.ui import region_handlers, video_handlers
    from virtart.ui.state import shown_mask

    clip = str(make_clip(tmp_path / "clip.mp4", frames=2))

    def first_frame(session) -> np.ndarray:
        final = list(video_handlers.stylize_clip(clip, 0, session, video_handlers.VideoJob()))[-1]
        return next(io.read_frames(io.probe(final.download))).rgb.astype(int)

    session = two_regions(clip)
    own = first_frame(session)
    region_handlers.select_style(session, gr.SelectData(None, {"index": 1, "value": None}))  # region 2 picked
    same = first_frame(session)
    click, box = (shown_mask(region) >= 0.5 for region in session.regions)
    box &= ~click
    keyframe = session.photo.rgb.astype(int)
    assert np.abs(own[click] - same[click]).mean() < 3  # the click region's painting is unchanged
    assert np.abs(own[box] - same[box]).mean() > 8  # the box region had its own painting
    assert np.abs(own[box] - keyframe[box]).mean() > 8 and np.abs(own[click] - keyframe[click]).mean() > 8
    outside = ~(click | box)
    assert np.abs(own[outside] - keyframe[outside]).mean() < 4


def test_stop_keeps_the_frames_done_as_a_playable_clip(tmp_path, styles_dir, tiny_engine):
    """Stop (from another thread, as the page's Stop event) while the stream runs: the run ends
    after the frame in hand, the MP4 holds the frames done, and both the stream's last update
    and Stop's say how many."""
    import threading

    from virtart.ui import video_handlers

    clip = str(make_clip(tmp_path / "clip.mp4", frames=40))
    session = two_regions(clip)
    job = video_handlers.VideoJob()
    updates, stopped = [], {}
    stream = video_handlers.stylize_clip(clip, 0, session, job)
    for update in stream:
        updates.append(update)
        if str(update.run_status).startswith("Frame 3 "):
            worker = threading.Thread(target=lambda: stopped.update(update=video_handlers.stop_clip(job)))
            worker.start()
            updates += list(stream)
            worker.join()
            break
    final = updates[-1]
    frames = sum(1 for _ in io.read_frames(io.probe(final.download)))
    assert 3 <= frames < 40
    assert final.run_status.startswith(f"Stopped: the clip holds {frames} of 40 frames")
    assert stopped["update"].run_status == final.run_status and stopped["update"].download == final.download


def test_stop_while_the_clip_waits_in_the_queue_cancels_it(tmp_path, styles_dir, tiny_engine):
    """Stop pressed between Stylize and a worker taking the run: the run, when it starts, ends
    at once with nothing painted and the last result kept; the next Stylize runs as usual."""
    from virtart.ui import video_handlers

    clip = str(make_clip(tmp_path / "clip.mp4", frames=3))
    session = two_regions(clip)
    job = video_handlers.VideoJob()
    assert "Waiting" in video_handlers.queued_clip(job).run_status
    stop = video_handlers.stop_clip(job)
    assert stop.run_status == video_handlers.NOT_STARTED
    updates = list(video_handlers.stylize_clip(clip, 0, session, job))
    assert [u.run_status for u in updates] == [video_handlers.NOT_STARTED]
    assert updates[0].result is video_handlers.KEEP and updates[0].download is video_handlers.KEEP
    video_handlers.queued_clip(job)
    final = list(video_handlers.stylize_clip(clip, 0, session, job))[-1]
    assert final.run_status.startswith("Done: 3 frames")
    assert video_handlers.stop_clip(job).run_status is video_handlers.KEEP  # nothing waits or runs now


def test_a_detected_region_is_looked_for_again_by_its_class(tmp_path, styles_dir, tiny_engine, monkeypatch):
    """A region made from a detected object (even after a corrective click) goes to the clip
    run with its class, so it is found again after leaving the frame; a clicked region without."""
    from virtart.geometry import Box
    from virtart.segmentation.detect import Detection
    from virtart.ui import photo_handlers, region_handlers, video_handlers

    clip = str(make_clip(tmp_path / "clip.mp4", frames=2))
    session = two_regions(clip)
    mask = np.zeros(session.photo.rgb.shape[:2], np.float32)
    mask[10:40, 50:80] = 1.0
    session.detections = [Detection("dog", 0.9, Box(50, 10, 80, 40), mask)]
    region_handlers.add_detected(session, ["0"])
    seen = {}
    real = video_handlers.stylize_video

    def recording(*args, **kwargs):
        seen["labels"] = kwargs.get("labels")
        return real(*args, **kwargs)

    monkeypatch.setattr(video_handlers, "stylize_video", recording)
    list(video_handlers.stylize_clip(clip, 0, session, video_handlers.VideoJob()))
    assert seen["labels"] == [None, None, "dog"]
    # a corrective click on the detected region keeps its class
    region_handlers.edit_region(session, 2)
    photo_handlers.click_photo(session, photo_handlers.INCLUDE, click(82, 42))
    region_handlers.add_click_region(session)
    assert session.regions[2].prompt.points and video_handlers.detected_labels(session) == [None, None, "dog"]

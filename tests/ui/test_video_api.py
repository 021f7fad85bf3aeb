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


def test_video_tab_handlers(tmp_path, styles_dir):
    """The tab without a browser: the keyframe becomes the tab's photo, the photo tab's click and
    Add selection work on it (mask drawn), Stylize streams frames done, then gives the MP4."""
    import gradio as gr

    from virtart.errors import VirtArtError
    from virtart.ui import photo_handlers, region_handlers, video_tab
    from virtart.ui.state import new_session

    clip = str(make_clip(tmp_path / "clip.mp4", frames=4))
    session = new_session()
    update = video_tab.show_keyframe(clip, 0, session)
    frame = update.photo
    assert frame.shape == (64, 96, 3) and session.regions == [] and "96x64" in update.status
    update = photo_handlers.click_photo(session, photo_handlers.INCLUDE, gr.SelectData(None, {"index": [20, 28],
                                                                                             "value": None}))
    assert session.points == [(20.0, 28.0, 1)] and not np.array_equal(update.photo, frame)  # mask and dot drawn
    region_handlers.add_click_region(session)
    assert len(session.regions) == 1
    updates = list(video_tab.stylize_from_tab(clip, 0, session, "", False, "starry_night", 1.0))
    assert any(u.run_status.startswith("Frame ") for u in updates[:-1])
    path, text = updates[-1].download, updates[-1].run_status
    assert path.endswith(".mp4") and io.probe(path).size == (96, 64) and text.startswith("Done")
    with pytest.raises(VirtArtError, match="not a video"):
        (tmp_path / "bad.mp4").write_text("nope")
        video_tab.show_keyframe(str(tmp_path / "bad.mp4"), 0, new_session())

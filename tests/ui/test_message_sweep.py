"""Every error path of the public API, swept: each message is one line a client can act on,
with no server path (Gradio's upload folder and its hash, temp folders, the home folder), no
library name and no CLI flag. The handlers run in process, as Gradio calls them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.support import hostile, hostile_video
from tests.support.leaks import leaks
from virtart.errors import INTERNAL_ERROR, VirtArtError, public_text, user_message

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

@pytest.mark.parametrize("text, expected", [
    ("/tmp/gradio/0a1b2c3d4e5f/photo.png: not a picture", "photo.png: not a picture"),
    ("C:\\Users\\bob\\clip.mp4 is empty", "clip.mp4 is empty"),
    ("~/private/x.png and ../../etc/passwd", "x.png and passwd"),
    ("--box '1,2': expected X0,Y0,X1,Y1", "box '1,2': expected X0,Y0,X1,Y1"),
    ("too large; ask for a downscale (--downscale) or resize it", "too large; ask for a downscale or resize it"),
    ("decoding failed in Pillow (PIL.Image) and OpenCV(5.1.0)", "decoding failed in the image decoder "
     "(the image decoder) and the image library"),
    ("500 for url http://127.0.0.1:8000/timm/x/resolve/main/model.safetensors", "500 for url a remote address"),
    ("a 3/4 crop of 10/20 px in 0.5 s, model.safetensors kept", "a 3/4 crop of 10/20 px in 0.5 s, "
     "model.safetensors kept"),
    ("too large (set VIRTART_MAX_PIXELS to raise it); make it smaller", "too large; make it smaller"),
    ("offline as HF_HUB_OFFLINE=1 says", "offline as a server setting says"),
])
def test_public_text_cuts_paths_libraries_flags_and_urls(text, expected):
    assert public_text(text) == expected


def test_the_cli_keeps_its_flags_and_its_users_paths():
    assert public_text("--box '1,2' in /home/me/a.png", cli=True) == "--box '1,2' in /home/me/a.png"


def test_the_detail_for_whoever_runs_the_server_reaches_the_cli_only(caplog):
    caplog.set_level("INFO", logger="virtart")
    error = VirtArtError("the photo is too large; make it smaller", detail="the limit is VIRTART_MAX_PIXELS")
    assert user_message(error) == "the photo is too large; make it smaller"
    assert "VIRTART_MAX_PIXELS" in caplog.text
    assert user_message(error, cli=True).endswith("(the limit is VIRTART_MAX_PIXELS)")


def test_user_message_of_a_bug_is_a_fixed_line_and_the_traceback_goes_to_the_log(caplog):
    try:
        raise ValueError("/srv/app/virtart/x.py: cv2.error in torch")
    except ValueError as exc:
        message = user_message(exc)
    assert message == INTERNAL_ERROR
    assert "cv2.error" in caplog.text and "Traceback" in caplog.text
    assert user_message(VirtArtError("/tmp/gradio/abc/p.png: bad")) == "p.png: bad"


# ---------------------------------------------------------------- the sweep


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    from virtart.imageio import save_mask

    root = tmp_path_factory.mktemp("gradio") / "0123456789abcdef0123456789abcdef"  # like Gradio's upload folder
    root.mkdir()
    (root / "photo.png").write_bytes(hostile.good_photo())
    (root / "style.png").write_bytes(hostile.good_style())
    mask = np.zeros((48, 64), np.float32)
    mask[8:30, 8:40] = 1
    save_mask(root / "mask.png", mask)
    return {"root": root, "photo": str(root / "photo.png"), "style": str(root / "style.png"),
            "mask": str(root / "mask.png"), "cases": dict(hostile.write_cases(root / "cases"))}  # HostileCase -> its path


def deep(depth: int, leaf: str = "[1, 2, 1]") -> str:
    return "[" * depth + leaf + "]" * depth


def api_calls(files: dict) -> list[tuple[str, str, dict]]:
    """``(name, endpoint, arguments)`` for every error a client can cause."""
    photo, mask, style = files["photo"], files["mask"], files["style"]
    calls: list[tuple[str, str, dict]] = []
    for case, path in files["cases"].items():
        if case.expect != hostile.REFUSE and not case.stylize_refuses:
            continue  # decoded and served: not an error path (tests/test_hostile_inputs.py checks them)
        if case.role == "photo":
            calls.append((f"segment photo {case.name}", "segment", {"image": str(path), "points": "[[0, 0, 1]]"}))
        else:
            calls.append((f"stylize mask {case.name}", "stylize", {"image": photo, "mask": str(path), "style": ""}))
    bad_points = ["not json", "[[1, 2", deep(2000), deep(50), "[" + ",".join(["[5, 5, 1]"] * 500) + "]",
                  "x" * 30_000, '{"x": 1}', "[[5]]", '[["a", "b", 1]]', "[[999, 5, 1]]", "[[5, 5, 7]]",
                  "[[1" + "0" * 5000 + ", 2, 1]]", "[]"]
    calls += [(f"segment points {p[:24]!r}", "segment", {"image": photo, "points": p}) for p in bad_points]
    calls += [(f"segment box {b[:24]!r}", "segment", {"image": photo, "box": b})
              for b in ("[1, 2, 3]", deep(500, "1"), "[5, 5, 5, 5]", "[900, 900, 990, 990]", "[1, 2, 3, 4, 5]")]
    calls += [(f"segment strokes {s[:24]!r}", "segment", {"image": photo, "strokes": s})
              for s in ('[{"points": [[1, 2]]}]', deep(3000, "{}"), '[{"points": "x"}]', "[1]",
                        '[{"points": [[1, 2], [3]]}]', json.dumps([{"points": [[1, 2]] * 20_000}]))]
    calls += [("segment no image", "segment", {"image": "", "points": "[[1, 1, 1]]"}),
              ("segment missing file", "segment", {"image": str(files["root"] / "gone.png"), "points": "[[1, 1, 1]]"}),
              ("detect no image", "detect", {"image": ""}),
              ("detect a missing file", "detect", {"image": mask + ".missing"})]
    regions = ["not json", deep(5000, "{}"), json.dumps([{"mask": 0, "style": "starry_night"}] * 100),
               '[{"mask": 5, "style": "starry_night"}]', '[{"mask": "data:image/png;base64,!!!", "style": 0}]',
               '[{"mask": 0, "style": "/etc/passwd"}]', '[{"mask": 0, "style": "../../../../etc/passwd"}]',
               '[{"mask": 0, "style": 7}]', '[{"mask": 0, "style": 0, "strength": "x"}]', "[1, 2]", "{}",
               '[{"mask": 0, "style": 0, "strength": 5}]']
    calls += [(f"stylize regions {r[:24]!r}", "stylize", {"image": photo, "regions": r, "masks": [mask],
                                                          "style_images": [style]}) for r in regions]
    options = [{"engine": "../../etc/passwd"}, {"engine": "--engine gatys"}, {"steps": "many"}, {"steps": -3},
               {"max_size": 10**9}, {"feather": float("nan")}, {"feather": -1}, {"style": "/etc/passwd"},
               {"mask": None}, {"style_images": [str(files["root"] / "gone.png")], "style": "0"}]
    calls += [(f"stylize options {o}", "stylize", {"image": photo, "mask": mask, "style": "starry_night", **o})
              for o in options]
    return calls


def video_calls(folder: Path) -> list[tuple[str, str, dict]]:
    calls = [(f"video {case.name}", "stylize_video", {"video": str(path)})
             for case, path in hostile_video.write_all(folder) if case.expect == hostile_video.REFUSE
             and not case.max_side]
    good = str(hostile_video.write_clip(folder / "good.mp4", [(64, 48)] * 3))
    calls += [("video points deep", "stylize_video", {"video": good, "points": deep(4000)}),
              ("video points 5001 digits", "stylize_video", {"video": good, "points": "[[1" + "0" * 5000 + ", 1, 1]]"}),
              ("video box text", "stylize_video", {"video": good, "box": "left,top"}),
              ("video box outside", "stylize_video", {"video": good, "box": "900,900,990,990"}),
              ("video keyframe past the end", "stylize_video", {"video": good, "keyframe": 99}),
              ("video style unknown", "stylize_video", {"video": good, "style": "/etc/passwd"}),
              ("video strength nan", "stylize_video", {"video": good, "strength": float("nan")}),
              ("video no file", "stylize_video", {"video": ""})]
    return calls


def run_call(endpoint: str, arguments: dict) -> str | None:
    """The gr.Error's message, or None when the call succeeded."""
    import gradio as gr

    from virtart.ui import api, video_tab

    function = {"segment": api.segment_api, "detect": api.detect_api, "stylize": api.stylize_api,
                "stylize_video": video_tab.stylize_video_api}[endpoint]
    if endpoint == "stylize":
        arguments = {"engine": "fast", "max_size": 64, "feather": 0, **arguments}
    try:
        result = function(**arguments)
        if endpoint in ("stylize", "stylize_video"):
            list(result)
    except gr.Error as exc:
        return str(exc.message)
    return None


def test_every_error_of_the_api_is_one_clean_line(files, tmp_path):
    secrets = (str(files["root"]), files["root"].name, str(tmp_path), "pytest-of", "/etc/passwd")
    problems, refused = [], 0
    for name, endpoint, arguments in api_calls(files) + video_calls(tmp_path / "clips"):
        message = run_call(endpoint, arguments)
        if message is None:
            continue
        refused += 1
        if message == INTERNAL_ERROR:
            problems.append(f"{name}: an internal error")
        elif found := leaks(message, secrets):
            problems.append(f"{name}: {', '.join(found)}: {message}")
    assert refused >= 70, refused
    assert not problems, "\n".join(problems)


def test_the_servers_own_limits_and_missing_files_are_told_without_its_settings(files, tmp_path, monkeypatch):
    """Messages once named VIRTART_MAX_PIXELS, VIRTART_STYLES and VIRTART_CHECKPOINTS to clients."""
    from virtart import checkpoints, styles
    from virtart.segmentation import detect

    big = tmp_path / "big.png"
    Image.fromarray(np.zeros((300, 400, 3), np.uint8)).save(big)
    monkeypatch.setenv("VIRTART_APP_MAX_PIXELS", "100000")
    messages = {"photo over the limit": run_call("segment", {"image": str(big), "points": "[[5, 5, 1]]"})}
    monkeypatch.setattr(styles, "painting_path", lambda painting: None)
    messages["gallery image missing"] = run_call("stylize", {"image": files["photo"], "mask": files["mask"],
                                                             "style": "starry_night"})
    monkeypatch.setattr(checkpoints, "candidate_sources",  # only the (empty) local folder: nothing found
                        lambda spec: [("local", tmp_path / "empty" / spec.filename)])
    monkeypatch.setattr(detect, "_detector", None)
    messages["model missing"] = run_call("detect", {"image": files["photo"]})
    assert "make it smaller" in messages["photo over the limit"] and "0.1 megapixels" in messages["photo over the limit"]
    assert "pick another style" in messages["gallery image missing"]
    assert "not available on this server" in messages["model missing"]
    problems = {name: leaks(message or "", (str(tmp_path),)) for name, message in messages.items()}
    assert not any(problems.values()), (problems, messages)


def test_a_deeply_nested_request_is_refused_before_it_is_parsed(files):
    """Deep JSON raised RecursionError in the server for /segment's points and /stylize's regions."""
    for endpoint, arguments in (("segment", {"image": files["photo"], "points": deep(100_000 // 3)}),
                                ("stylize", {"image": files["photo"], "regions": deep(50_000, "{}"),
                                             "masks": [files["mask"]]})):
        message = run_call(endpoint, arguments)
        assert message and ("nested more than" in message or "characters long" in message), message
        assert ("points" if endpoint == "segment" else "regions") in message


def test_a_failing_model_and_a_bug_reach_the_client_without_their_paths(files, monkeypatch):
    from virtart.errors import CheckpointError
    from virtart.segmentation import detect
    from virtart.ui import api

    def broken(*args, **kwargs):
        raise CheckpointError(f"model 'yolo11n' (yolo11n.pt) is not available: local:{files['root']}/yolo11n.pt "
                              "fails its checksum; hub: the Hub answered HTTP 503")

    monkeypatch.setattr(detect, "_detector", None)
    monkeypatch.setattr(detect, "Detector", broken)
    message = run_call("detect", {"image": files["photo"]})
    assert message and "yolo11n.pt" in message and not leaks(message, (str(files["root"]),)), message

    class Exploding:
        name = "exploding"

        def set_image(self, rgb):
            raise RuntimeError(f"cv2.error: {files['root']}/cache.npy")

    monkeypatch.setattr(api, "segmenter", lambda: Exploding())
    assert run_call("segment", {"image": files["photo"], "points": "[[5, 5, 1]]"}) == INTERNAL_ERROR

"""SamSegmenter with a tiny, randomly initialised SAM built from segment-anything's modules.

Same 1024-px input frame and 256-px low-res logits as the real ViT-B, but two thin encoder
blocks, so every test runs in well under a second. Masks come from the model, never faked.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from tests.support.threads import run_in_threads
from tests.support.tiny_models import tiny_sam
from virtart import checkpoints
from virtart.errors import VirtArtError
from virtart.segmentation import SAM_PRESETS, SamPreset, build_segmenter, get_segmenter, resolve_backend
from virtart.segmentation.sam import SamSegmenter, load_state


@pytest.fixture(scope="module")
def segmenter() -> SamSegmenter:
    return SamSegmenter(tiny_sam(), name="sam-vit-b", device="cpu", cache_size=3)


def photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


class Recorder:
    """Counts encoder runs and keeps the last prompts the prompt encoder saw."""

    def __init__(self, sam: torch.nn.Module) -> None:
        self.encoder_runs = 0
        self.prompts: dict = {}
        self.multimask: list[bool] = []
        self._handles = [
            sam.image_encoder.register_forward_hook(self._encoded),
            sam.prompt_encoder.register_forward_hook(self._prompted, with_kwargs=True),
            sam.mask_decoder.register_forward_hook(self._decoded, with_kwargs=True),
        ]

    def _encoded(self, module, args, output) -> None:
        self.encoder_runs += 1

    def _prompted(self, module, args, kwargs, output) -> None:
        self.prompts = dict(kwargs)

    def _decoded(self, module, args, kwargs, output) -> None:
        self.multimask.append(kwargs["multimask_output"])

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()


@pytest.fixture()
def recorder(segmenter: SamSegmenter):
    rec = Recorder(segmenter.model)
    yield rec
    rec.close()


def test_clicks_and_boxes_map_through_the_1024_resize(segmenter, recorder) -> None:
    image = photo(300, 200)  # long side 300 -> 1024, so 200 -> round(682.67) = 683
    state = segmenter.set_image(image)
    assert state.data.input_size == (683, 1024)
    segmenter.predict(state, [(150.0, 100.0, 1), (10.0, 190.0, 0)], box=(30, 20, 270, 180))
    coords, labels = recorder.prompts["points"]
    expected = np.array([[150 * 1024 / 300, 100 * 683 / 200], [10 * 1024 / 300, 190 * 683 / 200]])
    np.testing.assert_allclose(coords[0].numpy(), expected, rtol=1e-5)
    assert labels[0].tolist() == [1, 0]
    np.testing.assert_allclose(recorder.prompts["boxes"][0].numpy(),
                               [30 * 1024 / 300, 20 * 683 / 200, 270 * 1024 / 300, 180 * 683 / 200], rtol=1e-5)


def test_strokes_become_points_and_the_prior_box_fades(segmenter, recorder) -> None:
    from virtart.segmentation.base import Stroke

    image = photo(1024, 1024, seed=3)  # no resize: prompt coordinates stay as given
    state = segmenter.set_image(image)
    first = segmenter.predict(state, [], strokes=(Stroke(((100.0, 100.0), (148.0, 100.0)), 0),))
    coords, labels = recorder.prompts["points"]
    assert coords[0, :, 0].tolist() == [100.0, 124.0, 148.0] and labels[0].tolist() == [0, 0, 0]
    segmenter.predict(state, [(300.0, 300.0, 1)], previous=first, prior=(200, 200, 400, 400))
    assert recorder.prompts["boxes"] is not None and recorder.prompts["masks"] is not None
    segmenter.predict(state, [(300.0, 300.0, 1), (320.0, 330.0, 1), (350.0, 350.0, 0)], prior=(200, 200, 400, 400))
    assert recorder.prompts["boxes"] is None  # three clicks: they steer alone


def test_mask_shape_and_values_at_the_original_size(segmenter) -> None:
    for width, height in [(300, 200), (7, 5), (1, 1), (640, 1100)]:
        state = segmenter.set_image(photo(width, height, seed=width))
        prediction = segmenter.predict(state, [(width / 2, height / 2, 1)])
        assert prediction.mask.shape == (height, width)
        assert prediction.mask.dtype == np.float32
        assert set(np.unique(prediction.mask)) <= {0.0, 1.0}
        assert prediction.extra["low_res_logits"].shape == (1, 256, 256)
        assert prediction.backend == "sam-vit-b"


def test_masks_match_segment_anythings_own_predictor(segmenter) -> None:
    """The wrapper and upstream ``SamPredictor`` on the same model give the same masks."""
    from segment_anything import SamPredictor

    image = photo(300, 200, seed=5)
    upstream = SamPredictor(segmenter.model)
    upstream.set_image(image)
    state = segmenter.set_image(image)

    ours = segmenter.predict(state, [(100, 60, 1)])
    masks, scores, _ = upstream.predict(np.array([[100, 60]]), np.array([1]), multimask_output=True)
    np.testing.assert_array_equal(ours.mask, masks[int(np.argmax(scores))].astype(np.float32))

    box = (30, 20, 270, 180)
    ours = segmenter.predict(state, [(100, 60, 1), (250, 30, 0)], box=box)
    masks, _, _ = upstream.predict(np.array([[100, 60], [250, 30]]), np.array([1, 0]), box=np.array(box),
                                   multimask_output=False)
    np.testing.assert_array_equal(ours.mask, masks[0].astype(np.float32))


def test_embedding_is_computed_once_per_image_content(segmenter, recorder) -> None:
    image = photo(320, 240, seed=11)
    state = segmenter.set_image(image)
    again = segmenter.set_image(image.copy())  # same content, another array
    first = segmenter.predict(state, [(100, 100, 1)])
    segmenter.predict(again, [(100, 100, 1), (200, 150, 0)], previous=first)
    assert recorder.encoder_runs == 1
    assert state.key == again.key and state.data is again.data
    segmenter.set_image(photo(320, 240, seed=12))
    assert recorder.encoder_runs == 2


def test_cache_is_a_bounded_lru(segmenter, recorder) -> None:
    images = [photo(64, 64, seed=100 + i) for i in range(4)]
    states = [segmenter.set_image(image) for image in images]
    assert len(segmenter.cached_keys()) == 3
    assert states[0].key not in segmenter.cached_keys()
    runs = recorder.encoder_runs
    segmenter.set_image(images[3])
    assert recorder.encoder_runs == runs
    segmenter.set_image(images[0])
    assert recorder.encoder_runs == runs + 1


def test_single_click_picks_the_candidate_with_best_predicted_iou(segmenter, recorder) -> None:
    state = segmenter.set_image(photo(200, 200, seed=3))
    prediction = segmenter.predict(state, [(50, 60, 1)])
    assert recorder.multimask[-1] is True
    assert prediction.extra["candidates"] == 3
    embedding = state.data.embedding
    coords = torch.tensor([[[50 * 1024 / 200, 60 * 1024 / 200]]])
    with torch.no_grad():
        sparse, dense = segmenter.model.prompt_encoder(points=(coords, torch.tensor([[1]])), boxes=None, masks=None)
        _, ious = segmenter.model.mask_decoder(embedding, segmenter.model.prompt_encoder.get_dense_pe(),
                                               sparse, dense, multimask_output=True)
    assert prediction.score == pytest.approx(float(ious.max()), rel=1e-5)


def test_more_clicks_pass_the_previous_logits_back(segmenter, recorder) -> None:
    state = segmenter.set_image(photo(200, 150, seed=4))
    first = segmenter.predict(state, [(50, 60, 1)])
    second = segmenter.predict(state, [(50, 60, 1), (150, 100, 0)], previous=first)
    assert recorder.multimask[-1] is False
    np.testing.assert_array_equal(recorder.prompts["masks"][0].numpy(), first.extra["low_res_logits"])
    assert second.extra["candidates"] == 1
    other = segmenter.set_image(photo(200, 150, seed=5))
    segmenter.predict(other, [(50, 60, 1), (150, 100, 0)], previous=first)  # another photo's logits
    assert recorder.prompts["masks"] is None


def test_contradictory_clicks_still_give_a_mask(segmenter) -> None:
    state = segmenter.set_image(photo(100, 100, seed=6))
    prediction = segmenter.predict(state, [(40, 40, 1), (40, 40, 0)])
    assert prediction.mask.shape == (100, 100)


def test_bad_prompts_raise_one_clear_error(segmenter) -> None:
    state = segmenter.set_image(photo(100, 80, seed=7))
    with pytest.raises(VirtArtError, match="outside"):
        segmenter.predict(state, [(100, 10, 1)])
    with pytest.raises(VirtArtError, match="no clicks"):
        segmenter.predict(state, [])
    with pytest.raises(VirtArtError, match="zero area"):
        segmenter.predict(state, [], box=(10, 10, 10, 50))
    with pytest.raises(VirtArtError, match="too thin"):
        segmenter.set_image(photo(4000, 1))


def test_huge_images_get_a_working_size_mask_scaled_back(segmenter, monkeypatch) -> None:
    monkeypatch.setattr("virtart.segmentation.sam.MAX_MASK_PIXELS", 10_000)
    state = segmenter.set_image(photo(400, 300, seed=8))
    prediction = segmenter.predict(state, [(200, 150, 1)])
    assert prediction.mask.shape == (300, 400)
    assert set(np.unique(prediction.mask)) <= {0.0, 1.0}


def test_threads_share_one_segmenter_safely(segmenter, recorder) -> None:
    images = [photo(160, 120, seed=200 + i) for i in range(2)]
    clicks = [[(40, 30, 1)], [(120, 90, 1), (20, 100, 0)]]
    expected = {}
    reference = SamSegmenter(tiny_sam(), device="cpu")
    for i, image in enumerate(images):
        for j, points in enumerate(clicks):
            expected[i, j] = reference.predict(reference.set_image(image), points)
    results: dict = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for step in range(3):
                i, j = (worker + step) % 2, step % 2
                results[worker, step] = (i, j, segmenter.predict(segmenter.set_image(images[i]), clicks[j]))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)

    run_in_threads(work, 6)
    assert not errors
    assert recorder.encoder_runs == 2  # each photo encoded once, however many threads asked
    for i, j, prediction in results.values():
        want = expected[i, j]
        assert prediction.score == pytest.approx(want.score, abs=1e-4)
        assert np.mean(prediction.mask == want.mask) > 0.999


def test_backend_selection_without_a_checkpoint(monkeypatch) -> None:
    monkeypatch.setattr(checkpoints, "is_available", lambda name: False)
    assert resolve_backend("auto") == "offline"
    assert resolve_backend("sam") == "sam-vit-b"
    with pytest.raises(VirtArtError, match="unknown segmentation backend"):
        resolve_backend("sam-vit-x")


def test_sam_without_its_checkpoint_is_a_clear_error(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("VIRTART_CHECKPOINTS", str(tmp_path))
    with pytest.raises(VirtArtError, match="sam_vit_b_01ec64.pth"):
        get_segmenter("sam")


def test_checkpoint_is_loaded_with_weights_only(tmp_path) -> None:
    trained = tiny_sam(seed=1)
    path = tmp_path / "tiny_sam.pth"
    torch.save(trained.state_dict(), path)
    spec = checkpoints.get_spec("sam-vit-b")
    model = load_state(tiny_sam(seed=2), checkpoints.Checkpoint(spec, path, "test"))
    for name, tensor in trained.state_dict().items():
        torch.testing.assert_close(model.state_dict()[name], tensor)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(VirtArtError, match="not a loadable state dict"):
        load_state(tiny_sam(), checkpoints.Checkpoint(spec, path, "test"))


def test_build_segmenter_names_the_sam_backend(monkeypatch, tmp_path) -> None:
    path = tmp_path / "tiny.pth"
    torch.save(tiny_sam(seed=3).state_dict(), path)
    spec = checkpoints.get_spec("sam-vit-l")
    monkeypatch.setattr(checkpoints, "resolve", lambda name: checkpoints.Checkpoint(spec, path, "test"))
    monkeypatch.setitem(SAM_PRESETS, "sam-vit-l", SamPreset("sam-vit-l", tiny_sam))
    segmenter = build_segmenter("sam-vit-l", device="cpu")
    assert segmenter.name == "sam-vit-l"
    assert segmenter.predict(segmenter.set_image(photo(50, 40)), [(10, 10, 1)]).backend == "sam-vit-l"


def test_auto_answers_with_the_shared_offline_backend(monkeypatch) -> None:
    monkeypatch.setattr(checkpoints, "is_available", lambda name: False)
    segmenter = get_segmenter("auto")
    assert segmenter.name == "offline"
    assert get_segmenter("offline") is segmenter


def test_mobile_sam_modules_fit_the_wrapper() -> None:
    from virtart.segmentation.sam import build_mobile_sam

    torch.manual_seed(0)
    model = build_mobile_sam()
    model.set_imgsz([256, 256])  # ultralytics' own switch; the 1024 default is 16x the work
    segmenter = SamSegmenter(model, name="mobile-sam", device="cpu")
    state = segmenter.set_image(photo(96, 64, seed=9))
    first = segmenter.predict(state, [(40, 30, 1)])
    second = segmenter.predict(state, [(40, 30, 1), (90, 60, 0)], previous=first)
    assert first.extra["candidates"] == 3 and second.extra["candidates"] == 1
    assert second.mask.shape == (64, 96) and second.backend == "mobile-sam"
    assert first.extra["low_res_logits"].shape == (1, 64, 64)


def test_a_state_from_another_backend_is_refused(segmenter) -> None:
    from virtart.segmentation.base import ImageState

    with pytest.raises(VirtArtError, match="call set_image again"):
        segmenter.predict(ImageState("k", (10, 10), data=None), [(1, 1, 1)])


def test_auto_falls_back_when_the_sam_checkpoint_fails_to_load(monkeypatch, tmp_path) -> None:
    from virtart.errors import CheckpointError, VirtArtWarning

    monkeypatch.setattr(checkpoints, "is_available", lambda name: True)

    def refuse(name):
        raise CheckpointError(f"{name} fails its checksum")

    monkeypatch.setattr(checkpoints, "resolve", refuse)
    with pytest.warns(VirtArtWarning, match="offline segmenter"):
        assert get_segmenter("auto").name == "offline"
    with pytest.raises(CheckpointError):
        get_segmenter("sam")


def test_auto_falls_back_when_building_sam_fails_in_any_way(monkeypatch) -> None:
    from virtart import segmentation
    from virtart.errors import VirtArtWarning

    monkeypatch.setattr(checkpoints, "is_available", lambda name: True)
    monkeypatch.setattr(segmentation, "_instances", {})

    def broken(backend, device=None):
        if backend == "offline":
            from virtart.segmentation.offline import OfflineSegmenter

            return OfflineSegmenter()
        raise RuntimeError("CUDA error: out of memory")

    monkeypatch.setattr(segmentation, "build_segmenter", broken)
    with pytest.warns(VirtArtWarning, match="out of memory.*offline segmenter"):
        assert get_segmenter("auto").name == "offline"


def test_sam_runs_the_click_protocol_with_the_same_rules(segmenter, monkeypatch) -> None:
    """Random weights through the protocol code: every prompt runs, and a corrective click keeps
    only the change connected to it (the same local correction as the offline segmenter)."""
    from virtart.evaluation.click_protocol import run_image
    from virtart.segmentation import sam as sam_module

    image = photo(160, 120, seed=7)
    yy, xx = np.mgrid[0:120, 0:160]
    gt = (((xx - 80) ** 2 + (yy - 60) ** 2 <= 30**2) * 255).astype(np.uint8)
    for prompt in ("clicks", "box", "strokes"):
        result = run_image(segmenter, image, gt, max_clicks=4, prompt=prompt,
                           prior_boxes=[(60.0, 40.0, 100.0, 80.0)] if prompt == "clicks" else None)
        assert len(result.ious) == 4 and all(0.0 <= v <= 1.0 for v in result.ious)
    calls = []
    real = sam_module.local_correction

    def recording(before, after, newest, **kwargs):
        calls.append(list(newest))
        return real(before, after, newest, **kwargs)

    monkeypatch.setattr(sam_module, "local_correction", recording)
    state = segmenter.set_image(image)
    first = segmenter.predict(state, [(80.0, 60.0, 1)], prior=(60.0, 40.0, 100.0, 80.0))
    assert calls == []  # a first click has nothing to correct
    segmenter.predict(state, [(80.0, 60.0, 1), (130.0, 60.0, 1)], previous=first, prior=(60.0, 40.0, 100.0, 80.0))
    assert calls == [[(130.0, 60.0, 1)]]

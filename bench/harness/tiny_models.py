"""Randomly initialised stand-ins for the real networks, for tests and GPU timings.

Weights are random (no checkpoint travels to a test or a GPU check), but everything they
compute is really computed: timings of a full-size stand-in equal the real model's, as they
do not depend on the weight values.
"""

from __future__ import annotations

from functools import partial

import torch

from virtart.models.vgg import CONFIGS, PerceptualNetwork, VGGFeatures

SAM_DIM = 32


def random_vgg19(device: str | torch.device = "cpu", width_divisor: int = 1) -> PerceptualNetwork:
    """VGG-19's layout with random weights; ``width_divisor`` > 1 thins every layer (CPU checks)."""
    config = [item if item == "M" else int(item) // width_divisor for item in CONFIGS["vgg19"]]
    features = VGGFeatures(config)
    with torch.no_grad():  # He initialisation keeps activations at a trained network's scale through
        for conv in features.convs:  # the 16 layers, so losses and L-BFGS line searches behave alike
            torch.nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            conv.bias.zero_()
    features = features.eval().requires_grad_(False).to(device)
    label = "vgg19 (random weights)" if width_divisor == 1 else f"vgg19 layout, widths/{width_divisor} (random)"
    return PerceptualNetwork(label, "random", features)


def tiny_sam(seed: int = 0) -> torch.nn.Module:
    """segment-anything's ``Sam`` with the real ViT-B input frame (1024 px, 256-px low-res
    logits) but two thin encoder blocks: a forward pass takes well under a second on a CPU."""
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)  # test and benchmark set-up only, never a request
    try:
        sam = Sam(
            image_encoder=ImageEncoderViT(
                img_size=1024, patch_size=16, embed_dim=SAM_DIM, depth=2, num_heads=2, mlp_ratio=2,
                out_chans=SAM_DIM, qkv_bias=True, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
                use_rel_pos=True, window_size=14, global_attn_indexes=(),
            ),
            prompt_encoder=PromptEncoder(embed_dim=SAM_DIM, image_embedding_size=(64, 64),
                                         input_image_size=(1024, 1024), mask_in_chans=4),
            mask_decoder=MaskDecoder(
                num_multimask_outputs=3, transformer_dim=SAM_DIM,
                transformer=TwoWayTransformer(depth=1, embedding_dim=SAM_DIM, num_heads=2, mlp_dim=64),
                iou_head_depth=2, iou_head_hidden_dim=SAM_DIM,
            ),
        )
    finally:
        torch.random.set_rng_state(generator_state)
    return sam.eval()


class RandomStylizer:
    """:class:`~virtart.models.magenta.MagentaStylizer`'s interface over a small random network,
    for the fast engine in tests: a style vector from a painting's colours, and a
    vector-conditioned colour mix over a 5x5 neighbourhood (so the engine's context matters).
    Deterministic for a seed; every size works."""

    device = "cpu"
    sources = {"predict": "random", "transform": "random"}

    def __init__(self, seed: int = 0) -> None:
        import numpy as np

        rng = np.random.default_rng(seed)
        self.project = rng.normal(0.0, 1.0, (27, 100)).astype(np.float32)
        self.mix = rng.normal(0.0, 0.15, (100, 12)).astype(np.float32)

    def style_vector(self, image):
        """``(1, 1, 1, 100) float32`` from the mean colours of a 3x3 grid of ``image``."""
        import cv2
        import numpy as np

        grid = cv2.resize(image, (3, 3), interpolation=cv2.INTER_AREA).astype(np.float32).reshape(-1) / 255.0
        return np.tanh(grid @ self.project).reshape(1, 1, 1, 100)

    def stylize(self, content, vector):
        """``(H, W, 3) uint8`` -> ``(H, W, 3) uint8``: a blurred, recoloured copy."""
        import cv2
        import numpy as np

        weights = vector.reshape(100) @ self.mix
        matrix, bias = weights[:9].reshape(3, 3) * 4.0 + np.float32(0.3) * np.eye(3, dtype=np.float32), weights[9:]
        blurred = cv2.blur(content.astype(np.float32) / 255.0, (5, 5), borderType=cv2.BORDER_REFLECT)
        mixed = blurred @ matrix.T + bias
        return np.clip(np.round(mixed * 255.0), 0, 255).astype(np.uint8)


def tiny_fast_engine(seed: int = 0):
    """The real :class:`~virtart.engines.fast.FastEngine` over :class:`RandomStylizer`."""
    from virtart.engines.fast import FastEngine

    return FastEngine(RandomStylizer(seed))

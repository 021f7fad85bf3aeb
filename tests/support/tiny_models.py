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
def tiny_gatys_engine(device: str = "cpu", fast=None):
    """The Gatys engine over a seeded, thinned random VGG-19 (widths/16), its fast start from
    ``fast`` (default :func:`tiny_fast_engine`): the real engine code, a fraction of a second
    per small photo, no weights read. Builds the same network each call."""
    import dataclasses

    from virtart.engines.gatys import GatysEngine

    with torch.random.fork_rng():
        torch.manual_seed(0)  # test set-up only, never a request
        network = random_vgg19(width_divisor=16)
    return GatysEngine(dataclasses.replace(network, name="tiny-vgg"), device, fast=fast or tiny_fast_engine())


class SlowEngine:
    """Wraps an engine: sleeps ``seconds`` before each run and writes this process's id to
    ``pid_file`` first, so that a test can find and kill a batch worker in the middle of a run."""

    def __init__(self, engine, seconds: float, pid_file: str) -> None:
        self.engine, self.seconds, self.pid_file, self.name = engine, seconds, pid_file, engine.name
        self.context = engine.context

    def run(self, photo, regions, options):
        import os
        import time
        from pathlib import Path

        Path(self.pid_file).write_text(str(os.getpid()))
        time.sleep(self.seconds)
        return self.engine.run(photo, regions, options)


def red_patch_detector():
    """A stand-in detector for batch tests (no detector weights in fast tests): reports one
    object of each asked class covering the photo's strongly red pixels (R > 150, G and B < 90),
    or nothing where there are none. Its masks are what the rule finds, not a model's answer."""
    from types import SimpleNamespace

    import numpy as np

    def detect(rgb, classes, min_score):
        red = (rgb[:, :, 0] > 150) & (rgb[:, :, 1] < 90) & (rgb[:, :, 2] < 90)
        if not red.any():
            return []
        return [SimpleNamespace(label=name, mask=red.astype(np.float32)) for name in classes]

    return detect


def slow_tiny_gatys(pid_file: str, seconds: float, device: str = "cpu") -> SlowEngine:
    """:func:`tiny_gatys_engine` behind a :class:`SlowEngine` (a picklable factory with ``functools.partial``)."""
    return SlowEngine(tiny_gatys_engine(device), seconds, pid_file)


class NegativeEngine:
    """Paints every region as the photo's negative: real pixels at no model cost, for measuring
    what surrounds the engines (the batch driver's memory in ``bench/bench_batch.py``)."""

    name = "negative"
    context = 0

    def run(self, photo, regions, options):
        from virtart.engines.base import Preview
        from virtart.engines.composite import Layer
        from virtart.geometry import Box

        height, width = photo.shape[:2]
        layer = Layer(Box(0, 0, width, height), 255 - photo, tuple(range(len(regions))))
        yield Preview(1, 1, [layer], 0.0, final=True, frame=(width, height))


def negative_engine(device: str = "cpu") -> NegativeEngine:
    return NegativeEngine()

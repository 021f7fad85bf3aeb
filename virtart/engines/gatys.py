"""The quality engine: Gatys et al. 2016 optimisation with guided Grams (Gatys et al. 2017).

The engine optimises the crop the compositor gives it (the regions' box plus ``context``
pixels, at the working size), coarse to fine: e.g. 512 px, then 1024 px, up to the crop's
own size. The first stage starts from the fast engine's result (``options.init="fast"``,
shown at once as the step-0 preview, then mixed toward the photo when it lies far from it in
content, ``options.start_content``) or from the photo; each later stage from the previous
stage's result upsampled. ``options.steps="auto"`` stops a stage once its objective has
stopped improving and its content loss has stopped falling (:mod:`virtart.engines.stopping`). Every preview and the final carry one
layer for all regions: the current image (previews at the stage's size, the final at the
crop's), which the compositor blends in through the region alphas.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from virtart import masks as mask_ops
from virtart.engines import losses
from virtart.engines.base import MAX_WORKING_SIZE, Preview, Region
from virtart.engines.composite import Layer, composite
from virtart.engines.memory import check_fits
from virtart.engines.registry import GatysOptions
from virtart.engines.stopping import StopRule
from virtart.errors import CheckpointError, warn
from virtart.geometry import Box, fit_long_side, resize_image
from virtart.models.vgg import CONTENT_TAP, STYLE_TAPS, PerceptualNetwork, load_perceptual_network, normalize

CONTEXT = 16  # working pixels of the photo around the regions, so the edges see their surroundings
COARSEST_STAGE = 600  # stages halve from the working size until they are at most this
START_MIX_CORRECTIONS = 3  # forward passes spent fitting the start's mix (after the unmixed one)


def bf16_is_fast(device: torch.device) -> bool:
    """bf16 autocast pays off on CUDA and on CPUs with native bf16 dot products (AVX512-BF16):
    measured 1.5-1.7x faster per step there, with results within a few grey levels of fp32."""
    if device.type == "cuda":
        return True
    check = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return bool(check and check())


def stage_sizes(crop_long_side: int, max_size: int | None) -> list[int]:
    """Long sides of the coarse-to-fine stages, e.g. 2048 -> [512, 1024, 2048]."""
    final = min(crop_long_side, max_size or MAX_WORKING_SIZE)
    sizes = [final]
    while sizes[0] > COARSEST_STAGE:
        sizes.insert(0, sizes[0] // 2)
    return sizes


def stage_steps(total: int, stages: int) -> list[int]:
    """Split ``total`` steps over stages, halving each finer (costlier) stage's share."""
    weights = [2.0 ** -index for index in range(stages)]
    steps = [max(1, int(round(total * w / sum(weights)))) for w in weights]
    steps[0] += total - sum(steps)
    return [max(1, s) for s in steps]


def _resize(image: np.ndarray, long_side: int) -> np.ndarray:
    return resize_image(image, fit_long_side((image.shape[1], image.shape[0]), long_side))


def _to_tensor(image: np.ndarray, device: torch.device) -> torch.Tensor:
    # Contiguous: L-BFGS flattens the image's gradient with .view(), which HWC strides refuse.
    return torch.from_numpy(image).to(device).permute(2, 0, 1)[None].float().div(255.0).contiguous()


def _to_image(tensor: torch.Tensor) -> np.ndarray:
    array = tensor.detach()[0].clamp(0, 1).mul(255.0).round().byte().permute(1, 2, 0).cpu().numpy()
    return np.ascontiguousarray(array)


@dataclass
class Guide:
    """One region's part of the objective: its per-layer masks and its painting's Grams."""

    index: int
    strength: float
    layer_masks: dict[str, torch.Tensor]
    targets: dict[str, torch.Tensor]


class StageProblem:
    """The optimisation at one working size: an image parameter, its targets, its optimiser."""

    def __init__(self, engine: GatysEngine, options: GatysOptions, image: torch.Tensor,
                 content_target: torch.Tensor, guides: list[Guide]) -> None:
        self.engine, self.options, self.image = engine, options, image
        self.content_target, self.guides = content_target, guides
        # Kept as tensors: reading a value forces a device sync, so only previews read them.
        self._loss_tensors: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self._objective = torch.zeros(())
        self._content = torch.zeros(())
        if options.optimizer == "adam":
            self.optimizer: torch.optim.Optimizer = torch.optim.Adam([image], lr=options.learning_rate)
        else:
            self.optimizer = torch.optim.LBFGS([image], lr=1.0, max_iter=1, history_size=20,
                                               line_search_fn="strong_wolfe")

    def objective(self) -> torch.Tensor:
        """Weighted content + guided style + TV loss; records each region's raw losses."""
        options = self.options
        self.optimizer.zero_grad(set_to_none=True)
        features = self.engine._features(self.image, options, STYLE_TAPS + (CONTENT_TAP,))
        content_value = losses.content_loss(features[CONTENT_TAP], self.content_target)
        total = options.content_weight * content_value + options.tv_weight * losses.total_variation(self.image)
        current = {}
        for guide in self.guides:
            grams = {n: losses.guided_gram(features[n], guide.layer_masks[n]) for n in guide.targets}
            value = losses.style_loss(grams, guide.targets)
            total = total + options.style_weight * guide.strength * value
            current[guide.index] = (value.detach(), content_value.detach())
        total.backward()
        self._loss_tensors = current
        self._objective = total.detach()
        self._content = content_value.detach()
        return total

    def step(self) -> None:
        """One optimiser step (pixels kept in [0, 1]); never waits for the device."""
        self.optimizer.step(self.objective)
        with torch.no_grad():
            self.image.clamp_(0, 1)

    def objective_value(self) -> float:
        """The objective at the last evaluation (waits for the device)."""
        return float(self._objective)

    def content_value(self) -> float:
        """The raw content loss at the last evaluation (waits for the device)."""
        return float(self._content)

    def losses(self) -> dict[int, dict[str, float]]:
        """Each region's raw style and content loss at the last evaluation (waits for the device)."""
        return {index: {"style": style.item(), "content": content.item()}
                for index, (style, content) in self._loss_tensors.items()}


class GatysEngine:
    """Optimisation-based style transfer over a shared, read-only perceptual network."""

    name = "gatys"
    context = CONTEXT

    def __init__(self, network: PerceptualNetwork, device: str = "cpu", fast=None) -> None:
        """``fast``: a :class:`~virtart.engines.fast.FastEngine` for the "fast" start (default: loaded when needed)."""
        self.network = network
        self.device = torch.device(device)
        self.fast = fast
        self._fast_lock = threading.Lock()

    @classmethod
    def from_registry(cls, device: str = "cpu", prefer: str = "auto") -> GatysEngine:
        """Build with the best perceptual network the checkpoint registry can provide."""
        return cls(load_perceptual_network(prefer, device), device)

    def _autocast(self, options: GatysOptions):
        use_bf16 = options.precision == "bf16" or (options.precision == "auto" and bf16_is_fast(self.device))
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=use_bf16)

    def _features(self, image01: torch.Tensor, options: GatysOptions, taps: tuple[str, ...]) -> dict[str, torch.Tensor]:
        with self._autocast(options):
            x = normalize(image01)
            if self.device.type == "cuda":
                x = x.contiguous(memory_format=torch.channels_last)
            return self.network.features(x, taps)

    def _style_targets(self, region: Region, long_side: int, options: GatysOptions) -> dict[str, torch.Tensor]:
        style = _resize(region.style, max(32, min(MAX_WORKING_SIZE, int(long_side * options.style_scale))))
        with torch.no_grad():
            features = self._features(_to_tensor(style, self.device), options, STYLE_TAPS)
            return {name: losses.guided_gram(value) for name, value in features.items()}

    def run(self, image: np.ndarray, regions: list[Region], options: GatysOptions) -> Iterator[Preview]:
        """Yield the starting image (step 0), a cheap progress event every step (layer drawn on
        demand; losses read every ``options.preview_every`` steps), then the final layer, whose
        ``info["stop"]`` says why and after how many steps the run stopped."""
        started = time.perf_counter()
        crop = Box.whole(image.shape)
        sizes = stage_sizes(max(crop.size), None)
        for size in sizes:
            check_fits(size, crop.size, self.device, len(regions))
        total = options.planned_steps()
        budgets = stage_steps(total, len(sizes))
        info = {"perceptual_net": {"name": self.network.name, "source": self.network.source},
                "device": str(self.device), "working_sizes": sizes}
        every = tuple(range(len(regions)))

        def painted(current: np.ndarray) -> list[Layer]:
            return [Layer(Box.whole(current.shape), current, every)]

        def frame(current: np.ndarray | torch.Tensor) -> tuple[int, int]:
            return (int(current.shape[-1]), int(current.shape[-2])) if isinstance(current, torch.Tensor) else (
                int(current.shape[1]), int(current.shape[0]))

        content = _resize(image, sizes[0])
        start, info["start"] = self._start_image(image, regions, content, options)
        # The fast result is shown at once; mixing it toward the photo costs a few forward passes.
        yield Preview(0, total, painted(start), time.perf_counter() - started, {}, stage="start",
                      info=dict(info), frame=frame(start))
        start, info["start_mix"] = self._toward_photo(start, content, options) if info["start"] == "fast" else (start, 0.0)
        current = None
        step = 0
        stages: list[dict] = []
        last_losses: dict[int, dict[str, float]] = {}
        try:
            for stage, (size, budget) in enumerate(zip(sizes, budgets, strict=True)):
                problem = self._stage(regions, image, size, options, start if stage == 0 else current)
                current, rule, stage_done = problem.image, StopRule(options, budget), False
                while not stage_done:
                    problem.step()
                    step += 1
                    stage_done = (rule.done(problem.objective_value(), problem.content_value()) if rule.auto
                                  else rule.done(0.0))
                    # Losses force a device sync, so they are read only every preview_every steps;
                    # the layer is drawn only if the consumer looks at it.
                    read = step == 1 or step % options.preview_every == 0 or stage_done
                    if read:
                        last_losses = problem.losses()
                    snapshot = current.detach().clone()
                    yield Preview(step, total, lambda snapshot=snapshot: painted(_to_image(snapshot)),
                                  time.perf_counter() - started, dict(last_losses) if read else {},
                                  stage=f"{size}px", info=dict(info), frame=frame(snapshot))
                stages.append({"size": size, "steps": len(rule.values), "reason": rule.reason})
            info["stop"] = {"reason": stages[-1]["reason"], "steps": step, "stages": stages}
            final = resize_image(_to_image(current), crop.size)
            yield Preview(step, step, painted(final), time.perf_counter() - started, dict(last_losses), final=True,
                          stage="final", info=dict(info), frame=crop.size)
        finally:
            current = None
            if self.device.type == "cuda":
                torch.cuda.empty_cache()

    def _fast_engine(self):
        """The fast engine for the "fast" start, loaded on first use (None when its weights are missing)."""
        with self._fast_lock:
            if self.fast is None:
                from virtart.engines.fast import FastEngine

                try:
                    self.fast = FastEngine.from_registry(device=self.device.type)
                except CheckpointError as exc:
                    warn(f"the fast engine is not available ({exc}); the quality engine starts from the photo")
            return self.fast

    def _start_image(self, image: np.ndarray, regions: list[Region], content: np.ndarray,
                     options: GatysOptions) -> tuple[np.ndarray, str]:
        """The image the first stage starts from, at that stage's size (``content`` is the image
        there), and which start it is: the fast engine's result blended in through the regions'
        alphas (regions only) or the photo."""
        fast = self._fast_engine() if options.init == "fast" else None
        if fast is None:
            return content, "photo"
        size = (content.shape[1], content.shape[0])
        small = [replace(region.at_size(size), alpha=mask_ops.resize_mask(
                     region.mask if region.alpha is None else region.alpha, size)) for region in regions]
        layers = fast.paint(content, small)
        start = composite(content, Box.whole(content.shape), layers, size, [region.alpha for region in small], small)
        return start, "fast"

    def _toward_photo(self, start: np.ndarray, content: np.ndarray,
                      options: GatysOptions) -> tuple[np.ndarray, float]:
        """``start`` moved toward the photo crop ``content`` (both ``(h, w, 3) uint8``, one frame):
        ``content + mix * (start - content)`` with the largest ``mix`` in (0, 1] whose content loss
        (the objective's own term) is about ``options.start_content`` or less.

        The fast engine lands far from the photo on paintings unlike those it was trained on;
        starting there, the optimisation trades the photo's structure for style. The loss grows
        about as a power of ``mix``, so a few corrections of ``mix`` from the unmixed loss suffice.
        """
        if options.start_content is None:
            return start, 1.0
        with torch.no_grad():
            photo_t, start_t = _to_tensor(content, self.device), _to_tensor(start, self.device)
            target = self._features(photo_t, options, (CONTENT_TAP,))[CONTENT_TAP].float()

            def distance(mix: float) -> float:
                mixed = photo_t + mix * (start_t - photo_t)
                return float(losses.content_loss(self._features(mixed, options, (CONTENT_TAP,))[CONTENT_TAP], target))

            # The loss grows about as mix ** power (power ~2 for small moves): fit the power
            # to the last two evaluations and solve for the target, a few forward passes in all.
            mix, loss, power = 1.0, distance(1.0), 2.0
            for _ in range(START_MIX_CORRECTIONS):
                if loss <= 1.05 * options.start_content:
                    break
                previous = (mix, loss)
                mix = min(1.0, mix * (options.start_content / max(loss, 1e-12)) ** (1.0 / power))
                loss = distance(mix)
                if loss > 0 and previous[1] > loss and mix < previous[0]:
                    power = float(np.clip(np.log(previous[1] / loss) / np.log(previous[0] / mix), 0.5, 4.0))
        mix = round(mix, 3)
        mixed = content.astype(np.float32) + mix * (start.astype(np.float32) - content.astype(np.float32))
        return np.clip(np.round(mixed), 0, 255).astype(np.uint8), mix

    def _stage(self, regions: list[Region], photo_crop: np.ndarray, size: int, options: GatysOptions,
               start: np.ndarray | torch.Tensor) -> StageProblem:
        """Targets and the image to optimise for one stage at ``size`` px (long side of the crop).

        ``start``: the starting image at this size (``uint8`` array) or the previous stage's tensor.
        """
        content = _resize(photo_crop, size)
        height, width = content.shape[:2]
        content_t = _to_tensor(content, self.device)
        with torch.no_grad():
            content_target = self._features(content_t, options, (CONTENT_TAP,))[CONTENT_TAP].float()
            shapes = {n: tuple(f.shape[-2:]) for n, f in self._features(content_t, options, STYLE_TAPS).items()}
        guides = []
        for index, region in enumerate(regions):
            if region.strength <= 0:
                continue
            small = cv2.resize(region.mask, (width, height), interpolation=cv2.INTER_AREA)
            mask_t = torch.from_numpy(small).to(self.device)[None, None]
            targets = self._style_targets(region, size, options)
            guides.append(Guide(index, region.strength, losses.layer_masks(mask_t, shapes), targets))
        if isinstance(start, np.ndarray):
            image = _to_tensor(start, self.device)
        else:
            image = F.interpolate(start.detach(), size=(height, width), mode="bicubic", align_corners=False)
        return StageProblem(self, options, image.clamp(0, 1).requires_grad_(True), content_target, guides)

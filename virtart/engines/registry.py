"""The style engines, each described once: name, label, builder and defaults per device.

Everything that differs between engines (the page's label, the working size each paints at
on a CPU or a GPU, whether it reports losses, how much GPU time a run books) is read from
:data:`ENGINES`; the CLI, the app, the API and the pipeline hold no engine knowledge of
their own. Engines are built once per (name, device) and shared read-only between requests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from virtart.engines.base import Engine
from virtart.errors import VirtArtError


def _build_gatys(device: str) -> Engine:
    from virtart.engines.gatys import GatysEngine

    return GatysEngine.from_registry(device=device)


def _gatys_stand_in(engine: Engine) -> bool:
    """A VGG-16 engine built while VGG-19 downloads in the background serves, but is not kept."""
    from virtart import warmup

    return engine.network.name != "vgg19" and warmup.fetching("vgg19")


def _build_fast(device: str) -> Engine:
    from virtart.engines.fast import FastEngine

    return FastEngine.from_registry(device=device)


@dataclass(frozen=True)
class EngineSpec:
    """One engine.

    ``working_size``: the default long side (px) the engine paints at, per device kind
    ("cpu", "cuda"); the photo's own resolution when it is smaller.
    ``gpu_seconds_per_step`` and ``gpu_setup_seconds`` size a ZeroGPU booking at 512 px.
    ``stand_in``: whether a built engine only stands in for a better one still downloading
    (it serves the request but is not shared, so the next request gets the better one).
    """

    name: str
    label: str
    build: Callable[[str], Engine]
    working_size: dict[str, int]
    reports_losses: bool
    optimises: bool
    gpu_seconds_per_step: float
    gpu_setup_seconds: float
    stand_in: Callable[[Engine], bool] = lambda engine: False

    def default_max_size(self, device: str) -> int:
        return self.working_size["cuda" if device.startswith("cuda") else "cpu"]


ENGINES: dict[str, EngineSpec] = {
    spec.name: spec
    for spec in (
        # One pass per region: paint at the photo's own resolution up to a cap, so a phone photo's
        # region keeps its detail instead of being painted at 512 px and blown up.
        EngineSpec("fast", "Fast", _build_fast, {"cpu": 2048, "cuda": 4096}, reports_losses=False,
                   optimises=False, gpu_seconds_per_step=0.0, gpu_setup_seconds=15.0),
        # An optimiser: cost grows with pixels times steps.
        EngineSpec("gatys", "Quality (Gatys)", _build_gatys, {"cpu": 512, "cuda": 1024}, reports_losses=True,
                   optimises=True, gpu_seconds_per_step=0.03, gpu_setup_seconds=10.0,
                   stand_in=_gatys_stand_in),
    )
}
AUTO = "auto"


def resolve_device(device: str = "auto") -> str:
    """"auto" -> "cuda" when a GPU is usable, else "cpu"; anything else is checked."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise VirtArtError("--device cuda was asked for, but no CUDA GPU is available here")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise VirtArtError(f"unknown device '{device}': use auto, cpu or cuda")
    return device


def default_engine(device: str) -> str:
    """The engine a request gets when it names none: the optimiser where a GPU makes it quick,
    the one-pass network on a CPU."""
    return "gatys" if device.startswith("cuda") else "fast"


def engine_spec(name: str, device: str = "cpu") -> EngineSpec:
    """The spec for an engine name, a page label ("Quality (Gatys)") or "auto"."""
    key = str(name).strip()
    if key.lower() == AUTO:
        return ENGINES[default_engine(device)]
    for spec in ENGINES.values():
        if key.lower() in (spec.name, spec.label.lower()):
            return spec
    raise VirtArtError(f"unknown engine '{name}': use {', '.join(ENGINES)} or {AUTO}")


_shared: dict[tuple[str, str], Engine] = {}
_shared_lock = threading.Lock()


def shared_engine(name: str, device: str = "auto") -> Engine:
    """The process's one engine ``name`` on ``device``, built on first use."""
    device = resolve_device(device)
    spec = engine_spec(name, device)
    key = (spec.name, device)
    with _shared_lock:
        if key in _shared:
            return _shared[key]
        engine = spec.build(device)
        if not spec.stand_in(engine):
            _shared[key] = engine
        return engine


def gpu_seconds(name: str, steps: int, max_size: int | None) -> int:
    """Seconds of GPU a run books on ZeroGPU: setup plus per-step time scaled by pixel count."""
    spec = engine_spec(name, "cuda")
    scale = max(1.0, ((max_size or spec.default_max_size("cuda")) / 512) ** 2)
    return int(min(120, spec.gpu_setup_seconds + steps * spec.gpu_seconds_per_step * scale))

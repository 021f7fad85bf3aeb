"""The style engines, each described once: name, label, builder, options and defaults per device.

Everything that differs between engines (the page's label, its options with their defaults,
limits, labels and help, the working size each paints at on a CPU or a GPU, its default
steps, how much GPU time a run books) is read from :data:`ENGINES`; the CLI, the app, the API,
the video path and the pipeline hold no engine knowledge of their own. Engines are built once
per (name, device) and shared read-only between requests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

from virtart.engines.base import Engine, StyleOptions
from virtart.engines.options import AUTO_STEPS, OptionSpec, check_options, option, option_specs
from virtart.errors import VirtArtError

MAX_STEPS = 10_000


@dataclass
class GatysOptions(StyleOptions):
    """The Quality (Gatys) engine's options, on top of the common ones.

    ``steps``: "auto" stops the optimisation when its objective has improved by less than
    ``auto_tolerance`` (a fraction) over the last ``auto_window`` steps, or at
    ``auto_max_steps``, but not while the content loss still falls by more than
    ``auto_content_tolerance``; a number means exactly that many steps. ``init``: the image the
    optimisation starts from, "fast" (the fast engine's result, region-aware) or "photo"
    (Gatys et al.'s content start); ``start_content``: the "fast" start is mixed toward the
    photo until its content loss is at most this (None: the fast result as it is), so a
    painting the fast engine renders far from the photo's structure does not pull the
    optimisation away from it. The losses are relative (scale-free), so
    ``style_weight`` is the style-to-content balance.
    """

    steps: int | Literal["auto"] = option(AUTO_STEPS, "Steps", "'auto' (stop when the result has converged) or "
                                          "an exact number of steps", "steps", minimum=1, maximum=MAX_STEPS)
    init: Literal["fast", "photo"] = option("fast", "Start from", "start the optimisation from the fast engine's "
                                            "result or from the photo", "choice", choices=("fast", "photo"))
    auto_tolerance: float = option(0.07, "Convergence tolerance", "the automatic stop's tolerance: the fraction "
                                   "the objective must improve by over the window", "float", minimum=0, below=1)
    auto_window: int = option(10, "Convergence window (steps)", "the automatic stop's window in steps", "int",
                              minimum=1)
    auto_max_steps: int = option(42, "Most steps", "the automatic stop's cap in steps", "int", minimum=1,
                                 maximum=MAX_STEPS)
    auto_content_tolerance: float = option(0.01, "Content tolerance", "the automatic stop waits while the "
                                           "content loss still falls by more than this fraction over the window",
                                           "float", minimum=0)
    start_content: float | None = option(0.6, "Start content", "the fast start is mixed toward the photo until "
                                         "its content loss is at most this (empty: the fast result as it is)",
                                         "float", minimum=0, optional=True)
    optimizer: Literal["adam", "lbfgs"] = option("adam", "Optimizer", "the optimiser", "choice",
                                                 choices=("adam", "lbfgs"))
    learning_rate: float = option(0.02, "Learning rate", "Adam's step size", "float", minimum=0)
    style_weight: float = option(10.0, "Style weight", "style-to-content balance", "float", minimum=0)
    content_weight: float = option(1.0, "Content weight", "weight of the photo's content", "float", minimum=0)
    tv_weight: float = option(1e-1, "Smoothness weight", "total-variation weight (less noise)", "float", minimum=0)
    style_scale: float = option(1.0, "Style scale", "size of the painting's strokes relative to the region",
                                "float", minimum=0)

    def planned_steps(self) -> int:
        """The explicit count, or the automatic stop's cap."""
        return self.auto_max_steps if self.steps == AUTO_STEPS else int(self.steps)


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

    ``label``: its name on the page. ``options``: its options type (the common
    :class:`StyleOptions` or a subclass; each field declares its spec).
    ``working_size``: the default long side (px) the engine paints at, per device kind
    ("cpu", "cuda"); the photo's own resolution when it is smaller.
    ``gpu_seconds_per_step`` and ``gpu_setup_seconds`` size a ZeroGPU booking at 512 px.
    ``stand_in``: whether a built engine only stands in for a better one still downloading
    (it serves the request but is not shared, so the next request gets the better one).
    """

    name: str
    label: str
    build: Callable[[str], Engine]
    options: type[StyleOptions]
    working_size: dict[str, int]
    gpu_seconds_per_step: float
    gpu_setup_seconds: float
    stand_in: Callable[[Engine], bool] = lambda engine: False

    def default_max_size(self, device: str) -> int:
        return self.working_size["cuda" if device.startswith("cuda") else "cpu"]

    @property
    def option_specs(self) -> tuple[OptionSpec, ...]:
        """Every option this engine takes (common ones first), for the page's controls and the CLI's flags."""
        return option_specs(self.options)

    @property
    def optimises(self) -> bool:
        """Whether the engine iterates (it has steps): seconds per picture rather than one pass."""
        return self.default_steps is not None

    @property
    def default_steps(self) -> int | str | None:
        """The steps a run takes when asked for none ("auto": the engine's stopping rule); None
        for an engine without steps."""
        return next((spec.default for spec in self.option_specs if spec.name == "steps"), None)

    def make_options(self, options: StyleOptions | None = None, **values: Any) -> StyleOptions:
        """This engine's options type with the fields of ``options`` it shares (another engine's
        options, or the common ones) and ``values`` set; the rest at their defaults."""
        names = {f.name for f in fields(self.options)}
        given = {f.name: getattr(options, f.name) for f in fields(options) if f.name in names} if options else {}
        return self.options(**given, **values)


ENGINES: dict[str, EngineSpec] = {
    spec.name: spec
    for spec in (
        # One pass per region: paint at the photo's own resolution up to a cap, so a phone photo's
        # region keeps its detail instead of being painted at 512 px and blown up.
        EngineSpec("fast", "Fast", _build_fast, StyleOptions, {"cpu": 2048, "cuda": 4096},
                   gpu_seconds_per_step=0.0, gpu_setup_seconds=15.0),
        # An optimiser: cost grows with pixels times steps.
        EngineSpec("gatys", "Quality (Gatys)", _build_gatys, GatysOptions, {"cpu": 512, "cuda": 1024},
                   gpu_seconds_per_step=0.03, gpu_setup_seconds=10.0, stand_in=_gatys_stand_in),
    )
}
AUTO = "auto"
QUICK_ENGINE = "fast"  # the one-pass engine: what a clip, a CPU and a one-call tool get by default


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
    return "gatys" if device.startswith("cuda") else QUICK_ENGINE


def default_video_engine() -> str:
    """The engine a clip gets when it names none: the one-pass network (the optimiser takes
    seconds per frame even on a GPU)."""
    return QUICK_ENGINE


def engine_choices() -> list[tuple[str, str]]:
    """``(label, name)`` of every engine, for the page's engine control."""
    return [(spec.label, spec.name) for spec in ENGINES.values()]


def auto_engine_help() -> str:
    """What "auto" picks, in words, for help texts."""
    return f"auto: {engine_spec(default_engine('cuda')).label} where a GPU is usable, else " \
           f"{engine_spec(default_engine('cpu')).label}"


def all_option_specs() -> dict[str, OptionSpec]:
    """Every option of every engine by name (an option two engines share is listed once), for
    the command line's flags and for telling another engine's option from an unknown one."""
    specs: dict[str, OptionSpec] = {}
    for spec in ENGINES.values():
        for option_spec in spec.option_specs:
            specs.setdefault(option_spec.name, option_spec)
    return specs


def parse_options(engine: str = AUTO, values: Mapping[str, Any] | None = None) -> StyleOptions:
    """The options of ``engine`` ("auto" resolved for the device in ``values``) from loose
    values (form text, JSON, command-line strings), each read by its spec and checked with
    :func:`~virtart.engines.options.check_options`. Options of another engine are checked by
    their own spec, then ignored (a page or client sends one set for every engine); a name no
    engine knows is refused."""
    values = dict(values or {})
    spec = engine_spec(engine, resolve_device(str(values.get("device") or "auto")))
    own = {option_spec.name: option_spec for option_spec in spec.option_specs}
    known = all_option_specs()
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise VirtArtError(f"unknown option {unknown[0]!r}; options are {', '.join(known)}")
    for name, value in values.items():
        if name not in own:
            known[name].check(known[name].parse(value))
    options = spec.options(**{name: own[name].parse(value) for name, value in values.items() if name in own})
    check_options(options)
    return options


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

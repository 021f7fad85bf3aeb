"""How long a running stylization has left, from the measured step time and the stopping rule.

With a fixed number of steps the steps left are known. With ``steps="auto"`` the run stops
(:class:`~virtart.engines.stopping.StopRule`) at the first step where, over the last
``auto_window`` steps, the objective improved by less than ``auto_tolerance`` and the content
loss by less than ``auto_content_tolerance`` (fractions of their values a window earlier), or
at the cap ``auto_max_steps``. :class:`TimeLeft` forecasts that step from the same two
measures. Once a window of steps is in, each measure's window improvement (the very number
the rule tests) is known step by step; it falls off roughly exponentially, so its last
``FIT_STEPS`` values are fitted log-linearly in the step and followed to where it crosses its
tolerance; the stop is the later of the two crossings, at most the cap (the cap while the
content loss is rising: it comes back down later, and while it falls the rule waits). Before
that, the same holds, and else the objective is carried forward with its fitted per-step drop and the rule's test is applied to
the forecast. The measures are rebuilt from each region's reported losses with the options'
weights (the content loss is the run's, reported with every region; the total-variation term,
which the engine reports no value for, is left out). Step time: the median of the last
``TIMED_STEPS`` steps' durations (the first step also pays one-time set-up, and a step the
machine was busy for says little about the next).
"""

from __future__ import annotations

import math

import numpy as np

from virtart.engines.base import Preview, StyleOptions

FIT_STEPS = 6  # the most recent values an improvement curve is fitted on
MIN_FIT = 3  # values needed before a curve is followed
FLOOR = 1e-6  # an improvement at or below zero (noise) counts as this, to keep the log defined
TIMED_STEPS = 10


def _fit(steps: list[int], values: list[float]) -> tuple[float, float]:
    """``(slope, intercept)`` of ``log(value)`` against the step."""
    logs = np.log(np.maximum(values, FLOOR))
    if len(steps) < 2 or np.ptp(steps) == 0:
        return 0.0, float(logs.mean())
    slope, intercept = np.polyfit(np.asarray(steps, np.float64), logs, 1)
    return float(slope), float(intercept)


def improvements(values: dict[int, float], window: int, step: int) -> dict[int, float]:
    """The rule's measure at each step up to ``step``: how much ``values`` fell over the last
    ``window`` steps, as a fraction of its value then."""
    return {s: (values[s - window] - values[s]) / max(abs(values[s - window]), 1e-12)
            for s in values if s <= step and s - window in values}


class TimeLeft:
    """Feed each :class:`Preview` to :meth:`update`; it returns the seconds left, or None
    while there is not yet enough to tell. ``options``: the engine's (the automatic stop's
    fields, ``steps``, ``auto_*`` and the loss weights, where the engine has them)."""

    def __init__(self, options: StyleOptions) -> None:
        self.options = options
        self.auto = getattr(options, "steps", None) == "auto"  # an optimising engine's automatic stop
        self.cap = options.planned_steps()
        self.last: tuple[int, float] | None = None  # (step, elapsed) of the last step seen
        self.durations: list[float] = []  # seconds per step, most recent last
        self.objective: dict[int, float] = {}
        self.content: dict[int, float] = {}
        self.last_steps: int | None = None  # the forecast total steps

    def objective_of(self, losses: dict[int, dict[str, float]]) -> float:
        content = max((v.get("content", 0.0) for v in losses.values()), default=0.0)
        return self.options.content_weight * content + sum(self.options.style_weight * v.get("style", 0.0)
                                                           for v in losses.values())

    def update(self, preview: Preview) -> float | None:
        step = preview.step
        if preview.final or step <= 0:
            return None
        if preview.losses:
            self.objective[step] = self.objective_of(preview.losses)
            self.content[step] = max(v.get("content", 0.0) for v in preview.losses.values())
        last, self.last = self.last, (step, preview.elapsed)
        if last is not None and step > last[0]:
            self.durations = [*self.durations[-(TIMED_STEPS - 1):], (preview.elapsed - last[1]) / (step - last[0])]
        if not self.durations:
            return None
        step_seconds = float(np.median(self.durations))
        total = self.forecast_steps(step) if self.auto else self.cap
        if total is None:
            return None
        self.last_steps = total
        return max(0, total - step) * step_seconds

    def forecast_steps(self, step: int) -> int | None:
        """The step the automatic stop is expected at (``step`` if it should already have)."""
        if step not in self.objective:
            return None
        window = self.options.auto_window
        if step <= window:
            return self._carried_forward(step)
        stop = self._crossing(improvements(self.objective, window, step), step, self.options.auto_tolerance)
        content = improvements(self.content, window, step)
        if stop is None or not content:
            return stop
        if content[step] < 0:
            # The content loss rose over the window: the run is trading the photo's structure for
            # style, and it falls again later by more than its tolerance, which holds the rule.
            return self.cap
        return max(stop, self._crossing(content, step, self.options.auto_content_tolerance) or stop)

    def _crossing(self, measure: dict[int, float], step: int, tolerance: float) -> int | None:
        """The first step from ``step`` on where ``measure`` (followed with its recent fit) is
        under ``tolerance``; the cap if it is not falling."""
        if step in measure and measure[step] < tolerance:
            return step
        recent = [s for s in sorted(measure) if s > step - FIT_STEPS]
        if len(recent) < MIN_FIT:
            return None
        slope, intercept = _fit(recent, [measure[s] for s in recent])
        if slope >= 0:
            return self.cap
        return int(min(self.cap, max(step + 1, math.ceil((math.log(tolerance) - intercept) / slope))))

    def _carried_forward(self, step: int) -> int | None:
        """Before a window is in: the objective carried forward with its fitted per-step
        drop (a fraction of its value), checked with the rule's own test."""
        if self.content and self.content[step] > self.content[min(self.content)]:
            return self.cap  # the content loss is rising: as below, the rule will wait for it
        values = self.objective
        drops = {s: (values[s - 1] - values[s]) / max(abs(values[s - 1]), 1e-12)
                 for s in values if s - 1 in values and s <= step}
        recent = [s for s in sorted(drops) if s > step - FIT_STEPS]
        if len(recent) < MIN_FIT:
            return None
        slope, intercept = _fit(recent, [drops[s] for s in recent])
        forecast = {s: v for s, v in values.items() if s <= step}
        for future in range(step + 1, self.cap + 1):
            forecast[future] = forecast[future - 1] * (1.0 - min(0.9, math.exp(intercept + slope * future)))
        window, tolerance = self.options.auto_window, self.options.auto_tolerance
        for end in range(max(step, window + 1), self.cap + 1):
            measure = improvements(forecast, window, end).get(end)
            if measure is not None and measure < tolerance:
                return end
        return self.cap


def describe(seconds: float | None) -> str:
    """``"about 40 s left"`` / ``"about 2 min left"``; "" when unknown."""
    if seconds is None:
        return ""
    if seconds < 1.5:
        return "a second or two left"
    if seconds < 90:
        return f"about {seconds:.0f} s left"
    return f"about {seconds / 60:.0f} min left"

"""How long a running stylization has left, from the measured step time and the stopping rule.

With a fixed number of steps the steps left are known. With ``steps="auto"`` the run stops
(:class:`~virtart.engines.stopping.StopRule`) once the objective has improved by less than
``auto_tolerance`` over the last ``auto_window`` steps, or at ``auto_max_steps``. The
per-step drop of an optimisation's objective like this one falls off roughly exponentially
(the objective approaching its floor as ``c + a * exp(-b * step)``), so :class:`TimeLeft` fits
``log(drop) = a + b * step`` to the recent steps, carries the objective forward with it, and
takes the first step at which the rule's own test (improvement over the window under the
tolerance) holds. The objective is rebuilt from each region's reported losses with
the options' weights (the total-variation term, which the engine reports no value for, is
left out). Step time: the median of the last ``TIMED_STEPS`` steps' durations (the first
steps also pay one-time set-up, so an average from the start overestimates what is left).
"""

from __future__ import annotations

import math

import numpy as np

from virtart.engines.base import Preview, StyleOptions

FIT_STEPS = 30  # the most recent steps the improvement curve is fitted on
MIN_FIT = 3  # steps of improvement needed before the automatic stop is forecast
FLOOR = 1e-6  # an improvement at or below zero (noise) counts as this, to keep the log defined
TIMED_STEPS = 10


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
        self.last_steps: int | None = None  # the forecast total steps

    def objective_of(self, losses: dict[int, dict[str, float]]) -> float:
        return sum(self.options.style_weight * v.get("style", 0.0) + self.options.content_weight * v.get("content", 0.0)
                   for v in losses.values())

    def update(self, preview: Preview) -> float | None:
        step = preview.step
        if preview.final or step <= 0:
            return None
        if preview.losses:
            self.objective[step] = self.objective_of(preview.losses)
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
        window, tolerance = self.options.auto_window, self.options.auto_tolerance
        values = self.objective
        drops = {s: values[s - 1] - values[s] for s in values if s - 1 in values and s <= step}
        recent = [s for s in drops if s > step - FIT_STEPS]
        if len(recent) < MIN_FIT or step not in values:
            return None
        scale = max(abs(values[step]), FLOOR)
        xs = np.asarray(recent, np.float64)
        ys = np.log(np.maximum([drops[s] / scale for s in recent], FLOOR))
        slope, intercept = np.polyfit(xs, ys, 1) if np.ptp(xs) > 0 else (0.0, float(ys.mean()))
        if slope >= 0:  # not yet slowing down: the cap is the honest forecast
            return self.cap
        # the objective carried forward with the fitted drops, checked with the rule's own test
        forecast = dict(values)
        for future in range(step + 1, self.cap + 1):
            forecast[future] = forecast[future - 1] - scale * math.exp(intercept + slope * future)
        for end in range(max(step, window + 1), self.cap + 1):
            before = forecast.get(end - window)
            if before is not None and before - forecast[end] < tolerance * abs(before):
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

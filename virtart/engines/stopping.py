"""When an optimisation stops: after an exact number of steps, or once it has converged.

:class:`StopRule` watches the objective's value step by step. With ``steps="auto"`` it
stops when the objective improved by less than ``tolerance`` (a fraction of its value
``window`` steps earlier) over the last ``window`` steps, or at the cap; with a number it
stops after exactly that many steps. ``reason`` says which: "converged", "cap" or "steps".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from virtart.engines.registry import GatysOptions


class StopRule:
    """Decides, after each step, whether the run (or one stage of it) is done."""

    def __init__(self, options: GatysOptions, budget: int | None = None) -> None:
        """``budget``: the most steps of this rule (a stage's share); default the whole run's."""
        self.auto = options.steps == "auto"
        self.budget = options.planned_steps() if budget is None else budget
        self.window, self.tolerance = options.auto_window, options.auto_tolerance
        self.values: list[float] = []
        self.reason = ""

    def done(self, objective: float) -> bool:
        """Record the objective of the step just taken; True when this was the last step."""
        self.values.append(float(objective))
        if len(self.values) >= self.budget:
            self.reason = "cap" if self.auto else "steps"
            return True
        if self.auto and len(self.values) > self.window:
            before, now = self.values[-1 - self.window], self.values[-1]
            if before - now < self.tolerance * abs(before):
                self.reason = "converged"
                return True
        return False

"""When an optimisation stops: after an exact number of steps, or once it has converged.

:class:`StopRule` watches the objective's value step by step, and the content loss when the
engine reports it. With ``steps="auto"`` it stops when, over the last ``window`` steps, the
objective improved by less than ``tolerance`` (a fraction of its value ``window`` steps
earlier) and the content loss fell by less than ``content_tolerance`` (so a run whose
structure is still coming back goes on), or at the cap; with a number it stops after exactly
that many steps. ``reason`` says which: "converged", "cap" or "steps".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from virtart.engines.registry import GatysOptions


def _improved(values: list[float], window: int) -> float:
    """How much ``values`` fell over the last ``window`` steps, as a fraction of its value then."""
    before, now = values[-1 - window], values[-1]
    return (before - now) / max(abs(before), 1e-12)


class StopRule:
    """Decides, after each step, whether the run (or one stage of it) is done."""

    def __init__(self, options: GatysOptions, budget: int | None = None) -> None:
        """``budget``: the most steps of this rule (a stage's share); default the whole run's."""
        self.auto = options.steps == "auto"
        self.budget = options.planned_steps() if budget is None else budget
        self.window, self.tolerance = options.auto_window, options.auto_tolerance
        self.content_tolerance = options.auto_content_tolerance
        self.values: list[float] = []
        self.contents: list[float] = []
        self.reason = ""

    def done(self, objective: float, content: float | None = None) -> bool:
        """Record the objective (and content loss) of the step just taken; True when this was the last step."""
        self.values.append(float(objective))
        if content is not None:
            self.contents.append(float(content))
        if len(self.values) >= self.budget:
            self.reason = "cap" if self.auto else "steps"
            return True
        if self.auto and len(self.values) > self.window:
            settled = len(self.contents) <= self.window or _improved(self.contents, self.window) < self.content_tolerance
            if _improved(self.values, self.window) < self.tolerance and settled:
                self.reason = "converged"
                return True
        return False

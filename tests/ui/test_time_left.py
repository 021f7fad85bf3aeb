"""The page's time-left estimate against the stopping rule it forecasts (no engine, no timing noise)."""

from __future__ import annotations

import math

import pytest

from virtart.engines.base import Preview
from virtart.engines.registry import parse_options
from virtart.engines.stopping import StopRule
from virtart.ui.time_left import TimeLeft, describe


def run(options, objective, step_seconds: float = 0.5, setup: float = 7.0):
    """Feed TimeLeft a run whose objective at step ``s`` is ``objective(s)``, stopped by the real
    StopRule; return ``(steps, total seconds, [(elapsed, estimate), ...])``."""
    rule, clock, trace = StopRule(options), TimeLeft(options), []
    step, elapsed = 0, setup
    while True:
        step += 1
        elapsed += step_seconds * (6 if step == 1 else 1)  # the first step pays one-time set-up
        value = objective(step)
        done = rule.done(value)
        trace.append((elapsed, clock.update(Preview(step, 300, None, elapsed, {0: {"style": value / 10, "content": 0}}))))
        if done:
            return step, elapsed, trace


@pytest.mark.parametrize("rate", [0.03, 0.06, 0.12])
def test_the_estimate_at_half_time_is_within_30_percent(rate):
    options = parse_options("gatys", {"steps": "auto"})
    steps, total, trace = run(options, lambda s: 1.0 + 5.0 * math.exp(-rate * s))
    elapsed, left = next((e, left) for e, left in trace if e >= total / 2 and left is not None)
    assert abs((elapsed + left) / total - 1) <= 0.3, (steps, elapsed + left, total)


def test_a_fixed_step_count_is_counted_down_and_the_words():
    options = parse_options("gatys", {"steps": 40})
    clock = TimeLeft(options)
    for step in range(1, 11):
        left = clock.update(Preview(step, 40, None, step * 2.0, {}))
    assert left == pytest.approx(60.0)
    assert describe(None) == "" and describe(1.0) == "a second or two left" and describe(42) == "about 42 s left"
    assert describe(600) == "about 10 min left"


@pytest.mark.parametrize("shape", ["falling", "rising, then falling"])
def test_a_run_held_by_its_content_loss_is_forecast_to_the_cap(shape):
    """The objective converges by the rule's tolerance but the content loss still falls by more
    than its tolerance over the window (at once, or after rising while the style took hold):
    the rule goes on to the cap, and so does the forecast at step 20."""
    options = parse_options("gatys", {"steps": "auto"})
    rule, clock = StopRule(options), TimeLeft(options)
    for step in range(1, options.auto_max_steps + 1):
        style = 0.1 + 0.5 * math.exp(-0.3 * step)
        content = 0.98 ** step if shape == "falling" else 0.2 + 0.1 * min(step, 15) / 15 - 0.003 * max(0, step - 15)
        done = rule.done(10 * style + content, content)
        clock.update(Preview(step, 42, None, 2.0 + step, {0: {"style": style, "content": content}}))
        if step == 20:
            assert clock.last_steps == options.auto_max_steps, clock.last_steps
        if done:
            break
    assert rule.reason == "cap" and step == options.auto_max_steps

"""The automatic stop and the exact step count, on made-up objective curves."""

import pytest

from virtart.engines.registry import GatysOptions
from virtart.engines.stopping import StopRule
from virtart.errors import VirtArtError


def steps_taken(rule: StopRule, curve) -> int:
    for index, value in enumerate(curve, start=1):
        if rule.done(value):
            return index
    return -1


def test_auto_stops_when_the_last_window_improved_by_less_than_the_tolerance():
    rule = StopRule(GatysOptions(steps="auto", auto_window=5, auto_tolerance=0.01, auto_max_steps=100))
    curve = [100 * 0.8**i for i in range(20)] + [1.0] * 80  # falls fast, then flat
    taken = steps_taken(rule, curve)
    assert rule.reason == "converged" and 20 < taken <= 26


def test_auto_stops_at_the_cap_while_still_improving():
    rule = StopRule(GatysOptions(steps="auto", auto_window=5, auto_max_steps=30))
    assert steps_taken(rule, [100 * 0.9**i for i in range(100)]) == 30 and rule.reason == "cap"


def test_an_explicit_count_means_exactly_that_many_steps():
    rule = StopRule(GatysOptions(steps=12, auto_window=2))
    assert steps_taken(rule, [1.0] * 50) == 12 and rule.reason == "steps"
    assert steps_taken(StopRule(GatysOptions(steps=40), budget=7), [1.0] * 50) == 7


def test_planned_steps_and_bad_step_settings():
    assert GatysOptions(steps="auto", auto_max_steps=77).planned_steps() == 77
    assert GatysOptions(steps=5).planned_steps() == 5
    from virtart.engines.options import check_options

    for options, message in ((GatysOptions(steps=0), "steps must be 'auto' or a whole number between 1 and"), (GatysOptions(steps="many"), "'auto'"),
                             (GatysOptions(init="noise"), "init must be"),
                             (GatysOptions(auto_tolerance=float("nan")), "tolerance"),
                             (GatysOptions(auto_content_tolerance=-1.0), "content tolerance"),
                             (GatysOptions(start_content=-1.0), "start content")):
        with pytest.raises(VirtArtError, match=message):
            check_options(options)


def test_auto_waits_while_the_content_loss_is_still_falling():
    options = GatysOptions(steps="auto", auto_window=5, auto_tolerance=0.01, auto_content_tolerance=0.02,
                           auto_max_steps=100)
    objective = [100 * 0.8**i for i in range(20)] + [1.0] * 80  # flat from step 21
    content = [1.0] * 20 + [0.97**i for i in range(30)] + [0.97**30] * 50  # recovering until step 50
    rule = StopRule(options)
    taken = next(i for i, (o, c) in enumerate(zip(objective, content, strict=True), 1) if rule.done(o, c))
    assert rule.reason == "converged" and 50 < taken <= 56
    rising = StopRule(options)  # a rising content loss never holds the stop back
    taken = next(i for i, o in enumerate(objective, 1) if rising.done(o, 1.0 + 0.01 * i))
    assert 20 < taken <= 26

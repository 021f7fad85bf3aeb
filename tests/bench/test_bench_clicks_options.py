"""bench/bench_clicks.py's ``--set FIELD=VALUE`` overrides reach the offline segmenter."""

from __future__ import annotations

from bench.bench_clicks import make_segmenter, setting_override


def test_set_overrides_are_typed_and_reach_the_segmenter():
    assert setting_override("far_change=0.05") == ("far_change", 0.05)
    assert setting_override("working_size=768") == ("working_size", 768)
    assert setting_override("prior_fade=true") == ("prior_fade", True)
    segmenter = make_segmenter("offline", "guarded", dict([setting_override("reach=0")]))
    assert segmenter.settings.far_change == 0.05 and segmenter.settings.reach == 0

"""A small sample of the API fuzzer (``bench/fuzz_api.py``, 3000 cases there) against the launched app."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.server, pytest.mark.filterwarnings("ignore::UserWarning")]


def test_a_fuzz_sample_gets_no_server_exception_and_no_leaked_path():
    from bench.fuzz_api import run

    report = run(cases=40, seed=20261203, threads=2, time_limit=600)
    assert report["cases"] == 40
    assert report["server_exceptions"] == 0, report["problems"]
    assert report["messages_with_a_path_or_internals"] == 0, report["problems"]
    assert report["server_alive_throughout"]
    assert report["outcomes"].get("refused", 0) > 10 and report["outcomes"].get("result", 0) > 0

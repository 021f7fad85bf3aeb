"""Test support: tiny random models, test clips, hostile-input forge and sweep, a local Hub, a loopback app launcher.

Not part of the shipped ``virtart`` package: the tests and the ``bench/`` reliability
scripts import it from a source checkout.
"""

from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[2]
"""The source checkout this harness lives in (where ``app.py`` is)."""

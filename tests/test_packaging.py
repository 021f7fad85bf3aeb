"""The shipped package: what the wheel holds and where it writes."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import virtart
from virtart import settings

REPO = Path(__file__).resolve().parent.parent


def test_the_wheel_ships_the_library_and_nothing_else(tmp_path: Path):
    source = tmp_path / "source"  # setuptools builds inside the source folder: keep the checkout clean
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "tests",
                                                                "bench", "test-artifacts", "__pycache__", ".cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(source)], check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("virtart-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert all(n.startswith(("virtart/", "virtart-")) for n in names), [n for n in names if "virtart" not in n]
    packaged = {n for n in names if n.endswith(".py")}
    in_checkout = {str(p.relative_to(REPO)) for p in (REPO / "virtart").rglob("*.py")}
    assert packaged == in_checkout
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "Requires-Dist: torch" in metadata and "Requires-Dist: gradio" in metadata


def test_the_default_cache_is_outside_the_package(monkeypatch):
    monkeypatch.delenv("VIRTART_CACHE", raising=False)
    package = Path(virtart.__file__).resolve().parent
    assert not settings.cache_dir().resolve().is_relative_to(package.parent)

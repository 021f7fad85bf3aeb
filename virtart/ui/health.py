"""What works on this server, checked once at start-up and shown on the page.

A model that is missing or fails its checksum disables only the feature that needs it;
the page says which, and why, instead of failing on first use.
"""

from __future__ import annotations

from dataclasses import dataclass

from virtart import checkpoints, warmup


@dataclass(frozen=True)
class Feature:
    name: str
    models: tuple[str, ...]  # any one of these is enough
    fallback: str = ""  # shown when none is available but the feature still works


FEATURES = (
    Feature("Fast engine", ("magenta-style-transform",)),
    Feature("Quality engine", ("vgg19", "vgg16-offline")),
    Feature("Detect objects", ("yolo11n-seg", "yolo11n")),
    Feature("Click selection", ("sam-vit-b",), fallback="offline segmenter (no SAM checkpoint here)"),
)


def feature_status() -> list[tuple[str, bool, str]]:
    """``(feature, usable, detail)`` for each feature, from the checkpoint registry."""
    rows = []
    for feature in FEATURES:
        ready = [name for name in feature.models if checkpoints.is_available(name)]
        if feature.name == "Fast engine" and ready and not checkpoints.is_available("magenta-style-predict"):
            ready = []
        fetching = [f"{name} {state}" for name in feature.models
                    if (state := warmup.status(name)) is not None and state != "ready"]
        if fetching and feature.fallback:
            rows.append((feature.name, True, f"{feature.fallback.split(' (')[0]} ({'; '.join(fetching)})"))
        elif ready:
            rows.append((feature.name, True, ready[0] + (f" ({'; '.join(fetching)})" if fetching else "")))
        elif feature.fallback:
            rows.append((feature.name, True, feature.fallback))
        else:
            missing = ", ".join(checkpoints.get_spec(name).filename for name in feature.models)
            rows.append((feature.name, False, f"unavailable: {missing} missing or failing its checksum"))
    return rows


def refresh():
    """The status line again, and its timer kept ticking only while models are still being fetched."""
    import gradio as gr

    return status_markdown(), gr.Timer(active=warmup.busy())


# What a visitor gets from each feature, in words: (when served, when served by the fallback, when off).
OFFER = {
    "Click selection": ("SAM segmenter", "offline segmenter", "no click selection"),
    "Fast engine": ("fast engine", "", "no fast engine"),
    "Quality engine": ("quality engine", "", "no quality engine"),
    "Detect objects": ("object detection", "", "no object detection"),
}


def summary(rows: list[tuple[str, bool, str]]) -> str:
    """One calm sentence: what works here, then what does not (e.g. "Offline segmenter, fast
    engine, quality engine and object detection ready; SAM not installed.")."""
    ready, missing = [], []
    for name, ok, detail in rows:
        served, fallback, off = OFFER.get(name, (name.lower(), "", f"no {name.lower()}"))
        if not ok:
            missing.append(off)
        elif fallback and detail.startswith(fallback.split()[0]):
            ready.append(fallback)
            missing.append("SAM downloading" if "download" in detail or "fetch" in detail else "SAM not installed")
        else:
            ready.append(served)
    listed = ", ".join(ready[:-1]) + (" and " if len(ready) > 1 else "") + ready[-1] if ready else "nothing"
    sentence = f"{listed} ready" + (f"; {', '.join(missing)}" if missing else "")
    return sentence[0].upper() + sentence[1:] + "."


def status_markdown() -> str:
    """One sentence for the page, the details (which model serves each feature) folded away."""
    rows = feature_status()
    details = "<br>".join(f"{name}: {'ready, ' if ok else 'OFF, '}{detail}" for name, ok, detail in rows)
    return f"<details><summary>{summary(rows)}</summary><small>{details}</small></details>"

"""``virtart weights`` and ``virtart styles``: what models and paintings are available here."""

from __future__ import annotations

import argparse
import json

from virtart import checkpoints, styles


def register(subparsers: argparse._SubParsersAction) -> None:
    weights = subparsers.add_parser("weights", help="list every model, its sources and whether it is available")
    weights.add_argument("--json", action="store_true", help="print JSON instead of a table")
    weights.add_argument("--fetch", action="store_true", help="download every model that is not yet available")
    weights.set_defaults(handler=run_weights)
    gallery = subparsers.add_parser("styles", help="list the style gallery")
    gallery.add_argument("--json", action="store_true")
    gallery.set_defaults(handler=run_styles)


def run_weights(args: argparse.Namespace) -> int:
    if args.fetch:
        return fetch_all()
    rows = []
    for name, spec in checkpoints.REGISTRY.items():
        sources = checkpoints.availability(name)
        rows.append({
            "name": name, "description": spec.description, "file": spec.filename, "license": spec.license,
            "format": spec.format, "sha256": spec.sha256,
            "available": any(status.startswith("available") for _, status in sources),
            "sources": [{"source": source, "status": status} for source, status in sources],
        })
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        mark = "yes" if row["available"] else "no "
        print(f"[{mark}] {row['name']:<24} {row['description']} ({row['license']}, {row['format']})")
        for source in row["sources"]:
            print(f"        {source['source']}: {source['status']}")
    return 0


def run_styles(args: argparse.Namespace) -> int:
    entries = styles.catalogue_json()
    if args.json:
        print(json.dumps(entries, indent=2))
        return 0
    for entry in entries:
        mark = "yes" if entry["available"] else "no "
        print(f"[{mark}] {entry['id']:<28} {entry['title']}, {entry['painter']} ({entry['year']})")
    return 0


def fetch_all() -> int:
    """Resolve (download and verify) every model; exit 1 if any is unavailable."""
    return 1 if checkpoints.fetch(list(checkpoints.REGISTRY)) else 0

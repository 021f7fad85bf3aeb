"""``virtart batch``: one recipe over many photos and clips, on Ray (local or a cluster).

Examples::

    virtart batch --example > recipe.json
    virtart batch recipe.json album/ --out painted/
    virtart batch recipe.json paths.txt clips/ --out painted/ --workers 2 --address ray://head:10001
"""

from __future__ import annotations

import argparse
import sys

from virtart.errors import VirtArtError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "batch", help="apply one recipe to many photos and clips (Ray), resumable",
        description="Repaint every photo and clip in INPUTS (files, folders searched recursively, or .txt "
                    "files listing one path per line) with RECIPE.json: a stylize request whose regions are "
                    "click-free prompts (detected classes, everything else, the whole picture, a mask file "
                    "per input). Outputs go to --out beside manifest.jsonl; a rerun with the same recipe "
                    "skips what is done. Needs Ray: pip install 'virtart[batch]'.")
    parser.add_argument("recipe", nargs="?", help="the recipe JSON (see --example)")
    parser.add_argument("inputs", nargs="*", help="photos, clips, folders or .txt lists of paths")
    parser.add_argument("--out", help="output folder (created; holds the outputs and manifest.jsonl)")
    parser.add_argument("--workers", type=int, default=None,
                        help="workers in the pool, each with its own models (default: one per GPU, else 1)")
    parser.add_argument("--address", default=None,
                        help="join the Ray cluster there (also RAY_ADDRESS); default: a local Ray on 127.0.0.1")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda, in each worker")
    parser.add_argument("--example", action="store_true", help="print a recipe that runs as printed, and exit")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from virtart.batch.recipe import example_json, load_recipe

    if args.example:
        print(example_json())
        return 0
    if not args.recipe or not args.inputs or not args.out:
        raise VirtArtError("give RECIPE.json, at least one input and --out DIR (or --example for a recipe)")
    if args.workers is not None and not 1 <= args.workers <= 256:
        raise VirtArtError(f"--workers must be between 1 and 256, got {args.workers}")
    recipe = load_recipe(args.recipe)
    try:
        import ray  # noqa: F401
    except ImportError:
        raise VirtArtError("virtart batch needs Ray: pip install 'virtart[batch]'") from None
    from virtart.batch.run import run_batch

    try:
        summary = run_batch(recipe, args.inputs, args.out, workers=args.workers, address=args.address,
                            device=args.device)
    except KeyboardInterrupt:
        print(f"stopped; what is done is kept in {args.out}/manifest.jsonl: run the same command to resume",
              file=sys.stderr)
        raise
    for path, error in summary.failures:
        print(f"failed: {path}: {error}", file=sys.stderr)
    print(f"batch: {summary.line()}; manifest {args.out}/manifest.jsonl")
    return 1 if summary.failed else 0

"""``virtart stylize``: repaint regions of a photo, with a progress bar, a report and a loss plot."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from virtart.engines.composite import DEFAULT_FEATHER
from virtart.engines.options import OptionSpec
from virtart.engines.registry import (
    AUTO,
    ENGINES,
    all_option_specs,
    auto_engine_help,
    engine_spec,
    parse_options,
)
from virtart.errors import VirtArtError, warn
from virtart.imageio import atomic_write, load_photo, save_png
from virtart.pipeline import RegionRequest, StylizeRequest, stylize
from virtart.request import EXAMPLE_REQUEST, load_request_file, parse_region

STOP_REASONS = {"converged": "converged", "cap": "reached the automatic stop's cap", "steps": "as asked"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "stylize", help="repaint regions of a photo in a painting's style",
        description="Repaint the regions of PHOTO given by masks (white = region) in the style of paintings. "
                    "Without --mask or --region the whole photo is repainted. With --request, the regions, "
                    "engine and options come from a JSON request file (see --print-request-example).",
    )
    parser.add_argument("photo", nargs="?", help="the photo (PNG, JPEG, WebP, ...); with --request, "
                                                  "instead of the request's own 'photo'")
    parser.add_argument("--request", metavar="FILE.json",
                        help="a JSON request (regions with prompts or masks, paintings, engine, options); "
                             "its file names are read relative to its folder")
    parser.add_argument("--print-request-example", action="store_true",
                        help="print an example JSON request and exit")
    parser.add_argument("--style", help="gallery id (see `virtart styles`) or an image file")
    parser.add_argument("--mask", help="PNG mask for --style, white = region")
    parser.add_argument("--invert-mask", action="store_true", help="repaint everything outside --mask")
    parser.add_argument("--region", action="append", default=[], metavar="MASK.png=STYLE[@STRENGTH]",
                        help="an extra region with its own style and strength (repeatable)")
    parser.add_argument("--engine", choices=[*ENGINES, AUTO], default=AUTO, help=auto_engine_help())
    parser.add_argument("--strength", type=float, default=1.0, help="0 keeps the photo, 1 is the full style")
    parser.add_argument("--preserve-color", nargs="?", const="luminance", default=False,
                        choices=["luminance", "histogram"], help="keep the photo's colours, in every region")
    parser.add_argument("--feather", type=float, default=DEFAULT_FEATHER,
                        help="soft-edge radius in px (default %(default)s), for every region")
    add_option_flags(parser)
    parser.add_argument("--out", help="output PNG (full resolution; required unless --print-request-example)")
    parser.add_argument("--report", help="write a JSON report here")
    parser.add_argument("--plot", help="write the loss curves here as a PNG")
    parser.set_defaults(handler=run)


def add_option_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per engine option, from the registry (``--steps``, ``--max-size``, ...); each
    defaults to None, meaning the chosen engine's own default."""
    for spec in all_option_specs().values():
        engines = [s.name for s in ENGINES.values() if spec in s.option_specs]
        default = "the engine's for the device: " + "; ".join(
            f"{s.name} {s.working_size['cpu']} on a CPU, {s.working_size['cuda']} on a GPU"
            for s in ENGINES.values()) if spec.name == "max_size" else spec.default
        only = f"; {', '.join(engines)} only" if len(engines) < len(ENGINES) else ""
        parser.add_argument(spec.flag, dest=spec.name, type=_flag_type(spec), default=None,
                            choices=spec.choices or None, help=f"{spec.help} (default: {default}{only})")


def _flag_type(spec: OptionSpec):
    def parse(text: str):
        try:
            return spec.parse(text)
        except VirtArtError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = spec.name  # argparse names the option in its message
    return parse


def option_values(args: argparse.Namespace) -> dict:
    """The option flags that were given, by option name."""
    return {name: getattr(args, name) for name in all_option_specs() if getattr(args, name) is not None}


def _check_output(path: str, inputs: list[str], suffix: str, flag: str) -> None:
    out = Path(path)
    if out.suffix.lower() != suffix:
        raise VirtArtError(f"{flag} {path}: must end in {suffix}")
    if out.is_dir():
        raise VirtArtError(f"{flag} {path}: is a folder")
    for given in inputs:
        if given and Path(given).exists() and out.exists() and out.resolve() == Path(given).resolve():
            raise VirtArtError(f"{flag} {path}: would overwrite an input file; choose another name")
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not os.access(parent, os.W_OK):
        raise VirtArtError(f"{flag} {path}: the folder is not writable")


def build_requests(args: argparse.Namespace, size: tuple[int, int]) -> list[RegionRequest]:
    requests = [parse_region(text) for text in args.region]
    if args.style:
        mask = args.mask if args.mask else np.ones((size[1], size[0]), dtype=np.float32)
        requests.insert(0, RegionRequest(mask=mask, style=args.style, strength=args.strength, invert=args.invert_mask))
    elif args.mask or args.invert_mask:
        raise VirtArtError("--mask needs --style")
    if not requests:
        raise VirtArtError("give --style (with an optional --mask) or at least one --region")
    return requests


def build_request(args: argparse.Namespace) -> StylizeRequest:
    """The checked request: from ``--request FILE.json`` (the photo argument, if given, replaces
    the file's; flags fill in what the file leaves out), else from the region and option flags."""
    if args.request:
        if args.style or args.mask or args.region:
            raise VirtArtError("--request gives the regions; leave out --style, --mask and --region")
        photo = load_photo(args.photo, label=args.photo) if args.photo else None
        defaults = {**option_values(args), "preserve_color": args.preserve_color, "feather": args.feather}
        if args.engine != AUTO:
            defaults["engine"] = args.engine
        return load_request_file(args.request, photo, defaults)
    if not args.photo:
        raise VirtArtError("give the photo (or --request FILE.json)")
    photo = load_photo(args.photo, label=args.photo)
    options = parse_options(args.engine, option_values(args))
    spec = engine_spec(args.engine, options.device)
    for name in set(option_values(args)) - {option.name for option in spec.option_specs}:
        warn(f"{all_option_specs()[name].flag} does not apply to the {spec.label} engine; ignored")
    return StylizeRequest.create(photo, build_requests(args, photo.size), args.engine, options,
                                 preserve_color=args.preserve_color, feather=args.feather)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    if args.print_request_example:
        print(json.dumps(EXAMPLE_REQUEST, indent=2))
        return 0
    if not args.out:
        raise VirtArtError("--out is required: the PNG to write")
    inputs = [args.photo, args.mask, args.request] + [r.split("=", 1)[0] for r in args.region]
    _check_output(args.out, inputs, ".png", "--out")
    if args.report:
        _check_output(args.report, inputs, ".json", "--report")
    if args.plot:
        _check_output(args.plot, inputs, ".png", "--plot")
    request = build_request(args)
    photo, options = request.photo, request.options
    history: list[tuple[int, dict[int, dict[str, float]]]] = []
    final = None
    with tqdm(total=options.planned_steps(), desc=f"stylize ({request.engine})", unit="step", disable=None) as bar:
        for preview in stylize(request):
            bar.total = preview.total_steps
            bar.update(preview.step - bar.n)
            if preview.losses:
                history.append((preview.step, preview.losses))
            if preview.final:
                final = preview
    if final is None or final.result is None:
        raise VirtArtError("the engine stopped before producing a result")
    save_png(args.out, final.result.image, photo.alpha)
    report = final.result.report
    report["output"] = str(args.out)
    if args.report:
        atomic_write(args.report, json.dumps(report, indent=2).encode())
    if args.plot:
        atomic_write(args.plot, loss_plot_png(history, report.get("start")))
    stopped = report.get("stopped")
    why = f" after {stopped['steps']} steps ({STOP_REASONS[stopped['reason']]})" if stopped else ""
    print(f"wrote {args.out} ({final.image.shape[1]}x{final.image.shape[0]}) in {report['seconds']:.1f} s{why}; "
          f"outside_changed_pixels={report['outside_changed_pixels']}")
    return 0


def loss_plot_png(history: list[tuple[int, dict[int, dict[str, float]]]], start: str | None = None) -> bytes:
    """Loss curves (style per region, content) as PNG bytes, from step 0 (the ``start`` image, marked)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3.5), dpi=100)
    regions = sorted({index for _, losses in history for index in losses})
    for index in regions:
        points = [(step, losses[index]["style"]) for step, losses in history if index in losses]
        axis.plot(*zip(*points, strict=True), label=f"region {index + 1} style")
    content = [(step, next(iter(losses.values()))["content"]) for step, losses in history if losses]
    if content:
        axis.plot(*zip(*content, strict=True), label="content", linestyle="--")
    if start:
        axis.axvline(0, color="0.4", linestyle=":", label=f"start: {start}")
    axis.set_xlim(left=0)
    axis.set_yscale("log")
    axis.set_xlabel("step")
    axis.set_ylabel("relative loss")
    axis.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()

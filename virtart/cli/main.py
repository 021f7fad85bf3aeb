"""``virtart`` command line: one subcommand per module, each with ``register(subparsers)``.

Every user mistake ends as one ``error: ...`` line on stderr and exit status 2; warnings
print as ``warning: ...`` lines. No traceback reaches the user unless ``VIRTART_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from virtart import settings
from virtart.errors import VirtArtError, VirtArtWarning, public_text, user_message

COMMAND_MODULES = (
    "virtart.cli.stylize",
    "virtart.cli.weights",
    "virtart.cli.segment_commands",
    "virtart.cli.eval_clicks",
    "virtart.cli.video",
)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, VirtArtWarning):
        print(f"warning: {public_text(str(message), cli=True)}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(prog="virtart", description="Repaint chosen regions of a photo in a painting's style.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    settings.apply_offline_defaults()
    warnings.showwarning = _show_warning
    warnings.simplefilter("always", VirtArtWarning)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except VirtArtError as exc:
        print(f"error: {user_message(exc, cli=True)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("error: out of memory; try a smaller --max-size", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - last resort: one line, not a traceback
        if os.environ.get("VIRTART_DEBUG") == "1":
            raise
        print(f"error: unexpected {type(exc).__name__}: {public_text(str(exc), cli=True)} "
              "(set VIRTART_DEBUG=1 for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

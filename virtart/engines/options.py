"""How an engine's options are described, read from loose input and checked, in one place.

Each field of an options dataclass (:class:`~virtart.engines.base.StyleOptions` for the
common ones, each registry entry's own type for the rest) is declared with :func:`option`,
which attaches an :class:`OptionSpec`: its default, its limits, a label for the page and a
help line for the command line. :func:`option_specs` lists them, :meth:`OptionSpec.parse`
turns a value from a form, JSON or the command line into the field's type, and
:func:`check_options` checks a whole options object against its specs.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

from virtart.errors import VirtArtError

AUTO_STEPS = "auto"  # the engine's own stopping rule
Kind = Literal["steps", "int", "float", "choice", "text"]


@dataclass(frozen=True)
class OptionSpec:
    """One option: ``name`` and ``default`` (filled in from its field), ``label`` for the page,
    ``help`` for the command line, its ``kind`` and limits.

    ``kind``: "steps" ("auto" or a whole number in ``[minimum, maximum]``), "int" or "float"
    (finite, in ``[minimum, maximum]``, below ``below`` when set), "choice" (one of
    ``choices``) or "text" (checked elsewhere, e.g. the device). ``optional``: None is allowed
    (the engine's default for the device), and a form's 0 stands for it.
    """

    label: str
    help: str
    kind: Kind
    minimum: float | None = None
    maximum: float | None = None
    below: float | None = None
    choices: tuple = ()
    optional: bool = False
    name: str = ""
    default: Any = None

    @property
    def flag(self) -> str:
        """The command line's flag, e.g. ``--style-weight``."""
        return "--" + self.name.replace("_", "-")

    def limits(self) -> str:
        """The allowed values in words, for messages and help."""
        if self.kind == "choice":
            return ", ".join(repr(c) if isinstance(c, str) else str(c) for c in self.choices[:-1]) + (
                f" or {self.choices[-1]!r}" if len(self.choices) > 1 else repr(self.choices[0]))
        if self.minimum is not None and self.maximum is not None:
            words = f"between {self.minimum:g} and {self.maximum:g}"
        elif self.minimum is not None and self.below is not None:
            words = f"in [{self.minimum:g}, {self.below:g})"
        elif self.minimum is not None:
            words = f"a finite number >= {self.minimum:g}" if self.kind == "float" else f">= {self.minimum:g}"
        else:
            words = "a finite number"
        return f"'{AUTO_STEPS}' or a whole number {words}" if self.kind == "steps" else words

    def parse(self, value: Any) -> Any:
        """A loose value (form text, JSON, a command-line string) as this option's type; blank
        (None or "") is the default, and so is 0 for an ``optional`` one. Raises
        :class:`VirtArtError` for what cannot be read; limits are :meth:`check`'s."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None if self.optional else self.default
        if self.kind == "steps" and isinstance(value, str) and value.strip().lower() == AUTO_STEPS:
            return AUTO_STEPS
        if self.kind in ("choice", "text"):
            return value.strip() if isinstance(value, str) else value
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                what = f"'{AUTO_STEPS}' or a number" if self.kind == "steps" else "a number"
                raise VirtArtError(f"{self.words} must be {what}, got {value!r}") from None
        number = finite_number(self.words, value)
        if self.optional and number == 0:
            return None
        if self.kind == "float":
            return number
        if number != int(number):
            raise VirtArtError(f"{self.words} must be a whole number, got {number:g}")
        return int(number)

    def check(self, value: Any) -> None:
        """Raise :class:`VirtArtError` unless ``value`` (already of the field's type) is allowed."""
        if self.optional and value is None:
            return
        if self.kind == "text":
            return
        if self.kind == "choice":
            if value not in self.choices:
                raise VirtArtError(f"{self.words} must be {self.limits()}, got {value!r}")
            return
        if self.kind == "steps" and value == AUTO_STEPS:
            return
        whole = self.kind in ("steps", "int")
        if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
            kind = "a whole number" if whole else "a number"
            raise VirtArtError(f"{self.words} must be {'' if self.kind != 'steps' else repr(AUTO_STEPS) + ' or '}"
                               f"{kind}, got {value!r}")
        ok = math.isfinite(value) and (self.minimum is None or value >= self.minimum)  # NaN is refused too
        ok = ok and (self.maximum is None or value <= self.maximum) and (self.below is None or value < self.below)
        if not ok:
            raise VirtArtError(f"{self.words} must be {self.limits()}, got {value}")

    @property
    def words(self) -> str:
        return self.name.replace("_", " ")


def option(default: Any, label: str, help: str, kind: Kind, **limits: Any) -> Any:
    """A dataclass field whose metadata is its :class:`OptionSpec` (``limits``: its keywords)."""
    return dataclasses.field(default=default, metadata={"spec": OptionSpec(label, help, kind, **limits)})


def option_specs(options_type: type) -> tuple[OptionSpec, ...]:
    """The :class:`OptionSpec` of every option field of a dataclass type, names and defaults filled in."""
    return tuple(dataclasses.replace(f.metadata["spec"], name=f.name, default=f.default)
                 for f in dataclasses.fields(options_type) if "spec" in f.metadata)


def check_options(options: Any) -> None:
    """Raise :class:`VirtArtError` for the first option outside its spec's limits."""
    for spec in option_specs(type(options)):
        spec.check(getattr(options, spec.name))


def finite_number(name: str, value: Any) -> float:
    """``value`` as a float; :class:`VirtArtError` for non-numbers, NaN, infinity and integers
    too large for a float (form and JSON input may hold any of them)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise VirtArtError(f"{name} must be a number, got {value!r}")
    try:
        finite = math.isfinite(value)
    except OverflowError:
        raise VirtArtError(f"{name} must be a finite number, got one with {len(str(value))} digits") from None
    if not finite:
        raise VirtArtError(f"{name} must be a finite number, got {value!r}")
    return float(value)

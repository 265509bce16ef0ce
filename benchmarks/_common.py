"""What every benchmark script shares: printing its targets and the ``--check`` exit status.

Each benchmark keeps its targets in a mapping ``{name: True | False | None}`` (``None``: not
measured at this size, e.g. a 60-s target with fewer replications than it is defined on),
prints each one with :func:`target_line`, ends with one JSON line holding them under
``targets_met``, and returns :func:`exit_status`, which is 1 under ``--check`` when a target
was missed (``make bench-check``).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping


def add_check_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--check`` switch every benchmark takes."""
    parser.add_argument(
        "--check", action="store_true", help="exit with status 1 if a target is missed"
    )


def verdict(ok: bool | None) -> str:
    """``met``, ``MISSED`` or ``not measured``."""
    if ok is None:
        return "not measured"
    return "met" if ok else "MISSED"


def target_line(text: str, ok: bool | None) -> str:
    """One printed target: ``target: <text>: met`` (or ``MISSED``, ``not measured``)."""
    return f"target: {text}: {verdict(ok)}"


def exit_status(targets: Mapping[str, bool | None], *, check: bool) -> int:
    """1 if ``check`` and a measured target was missed, else 0 (prints nothing, so that the
    JSON line stays the last line)."""
    return 1 if check and any(ok is False for ok in targets.values()) else 0

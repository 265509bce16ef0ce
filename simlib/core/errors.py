"""User-facing errors: what the CLI turns into one line on stderr and exit status 2."""

from __future__ import annotations

from pathlib import Path

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """Bad input: names the file, the field path, the bad value and what is allowed.

    Parameters
    ----------
    message
        What is wrong and what is allowed, in words a planner understands.
    file
        The file the bad input came from, if any.
    path
        Dotted field path inside the file (``"budget.over_cap_rule"``) or a row and
        column of a table (``"row 12, supervisor_id"``).
    """

    def __init__(self, message: str, *, file: str | Path | None = None, path: str = "") -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.path = path
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.path) if part)
        text = f"{where}: {self.message}" if where else self.message
        # One line, always: line breaks inside keys or values are shown escaped.
        return text.replace("\r", "\\r").replace("\n", "\\n")

    def in_file(self, file: str | Path) -> ConfigError:
        """Return the same error attributed to ``file`` (if it names none yet)."""
        if self.file is not None:
            return self
        return ConfigError(self.message, file=file, path=self.path)

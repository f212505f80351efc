"""songreel's one error tree.

::

    SongreelError
    ├── InputError (ValueError)              bad user input: storyboard, options, media
    │   ├── StoryboardError                  a storyboard field, with FILE:LINE
    │   ├── PlanError                        a storyboard that cannot be placed on the song
    │   └── MediaError                       a file that cannot be decoded / has no usable stream
    ├── MissingFileError (FileNotFoundError) an input file that does not exist
    ├── UnknownNameError (LookupError)       unknown backend, preset, shot, section ...
    ├── MissingExtraError (ImportError)      an optional dependency is not installed
    ├── OutputError (OSError)                an output cannot be written (exists, read-only, same as input)
    ├── GenerationError (RuntimeError)       a backend failed to make a clip
    └── Interrupted                          the user stopped a render (Ctrl-C); exit code 130

Every message names the file and line or the field, what was received and what is accepted.
The CLI prints ``str(error)`` on one line and exits with code 2 for all of them.
"""

from __future__ import annotations

from pathlib import Path


class SongreelError(Exception):
    """Root of every error songreel raises on purpose."""

    exit_code = 2


class InputError(SongreelError, ValueError):
    """Bad user input."""


class StoryboardError(InputError):
    """A storyboard field is malformed.

    Parameters
    ----------
    message : str
        What is wrong: the value received and what is accepted.
    path : Path, optional
        The storyboard file.
    line : int, optional
        1-based line of the offending node.
    field : str, optional
        Dotted field path such as ``shots[2].length``.
    """

    def __init__(self, message: str, *, path: Path | str | None = None, line: int | None = None,
                 field: str | None = None):
        self.path = Path(path) if path is not None else None
        self.line = line
        self.field = field
        self.message = message
        where = ""
        if self.path is not None:
            where = f"{self.path}:{line}: " if line else f"{self.path}: "
        if field:
            where += f"{field}: "
        super().__init__(where + message)


class PlanError(InputError):
    """The storyboard cannot be placed on this song (lengths past the end, anchors out of order)."""


class MediaError(InputError):
    """A media file cannot be decoded or has no usable stream."""


class MissingFileError(SongreelError, FileNotFoundError):
    """An input file does not exist."""


class UnknownNameError(SongreelError, LookupError):
    """A name (backend, preset, shot, section) is not known."""


class MissingExtraError(SongreelError, ImportError):
    """An optional dependency is not installed; the message gives the pip command."""

    def __init__(self, extra: str, module: str, what: str):
        super().__init__(
            f"{what} needs the '{module}' package, which is not installed: "
            f"pip install 'songreel[{extra}]'"
        )


class OutputError(SongreelError, OSError):
    """An output cannot be written."""


class GenerationError(SongreelError, RuntimeError):
    """A backend failed to produce a clip."""


class Interrupted(SongreelError):
    """The user stopped a render (Ctrl-C); finished clips are kept. The CLI exits 130."""

    exit_code = 130


def did_you_mean(word: str, choices) -> str:
    """Return ``' (did you mean "x"?)'`` for the closest choice, or ``''``."""
    import difflib

    best = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f' (did you mean "{best[0]}"?)' if best else ""

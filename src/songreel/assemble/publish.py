"""Make a finished output file appear under its final name, durably."""

from __future__ import annotations

import os
from pathlib import Path


def publish(tmp: Path, out: Path, *, replace: bool) -> None:
    """Make the finished file appear under its final name, durably: fsync, then rename (or link, which
    refuses to clobber a file someone put there meanwhile), then fsync the folder."""
    from ..errors import OutputError
    from ..fileio import fsync_dir

    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    try:
        if replace:
            os.replace(tmp, out)
        else:
            try:
                os.link(tmp, out)
            except FileExistsError:
                raise OutputError(f"{out}: a file appeared there while rendering; it was left alone (pass "
                                  "force=True to replace it)") from None
            except OSError:  # filesystems without hard links: rename is still atomic
                if out.exists():
                    raise OutputError(f"{out}: a file appeared there while rendering; it was left alone") from None
                os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(out.parent)



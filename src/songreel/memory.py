"""Process memory: encoder-sized buffers go back to the system as soon as they are freed.

glibc serves large blocks with ``mmap`` and returns them on ``free``, but it raises that threshold
by itself (up to 32 MiB) the first time such a block is freed. From then on the multi-megabyte
buffers of each x264 instance come from per-thread heaps, which fragment as chunk encoders, decoders
and worker threads come and go, so a long render's resident memory creeps upwards. Fixing the
threshold keeps it flat. Measured on the assembly of a 60 s 1280x720 film at x264 medium: peak RSS
704 -> 551 MiB at 2 MiB. A lower threshold also maps every frame (a 720p yuv420p frame is 1.4 MB)
and pays a page fault per page of each: at 512 KiB an 854x480 render took 25% more CPU.
"""

from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)

#: blocks at least this big are mapped for themselves and unmapped when freed
LARGE_BLOCK = 2 * 1024 * 1024
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
_done: list = []


def return_large_blocks() -> bool:
    """Have the C allocator map blocks of :data:`LARGE_BLOCK` bytes and more one by one (glibc only;
    elsewhere nothing changes). Idempotent.

    Returns
    -------
    bool
        Whether the allocator took the setting.
    """
    if _done:
        return _done[0]
    ok = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None)
            ok = bool(libc.mallopt(_M_MMAP_THRESHOLD, LARGE_BLOCK))
        except (OSError, AttributeError):  # not glibc (musl has no mallopt)
            ok = False
    log.debug("frame-sized blocks mapped one by one: %s", ok)
    _done.append(ok)
    return ok

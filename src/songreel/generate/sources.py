"""What a render learns about a footage source file — its content hash, stream probe, duration and
whether it can be conformed on the fly — remembered per process by ``(path, size, mtime_ns)``.

The footage backend, the clip keys and the input checks all ask here, so each fact is worked out
once per file; :func:`prefetch_sources` works them out on a background thread while the song is
analysed. Only answers are remembered, never failures: a file that cannot be read fails where it
is used, with the message it always had, and a changed file (new size or mtime) is a new entry.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Iterable, Optional

logger = logging.getLogger(__name__)

#: files remembered at most (a long-running studio sees many)
MEMO_FILES = 1024

_lock = threading.Lock()
_memo: OrderedDict = OrderedDict()  # (abs path, size, mtime_ns) -> {fact name: value}
_busy: dict = {}  # (file key, fact) -> Lock held while one thread works it out


def _file_key(path) -> Optional[tuple]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return os.path.abspath(os.fspath(path)), st.st_size, st.st_mtime_ns


def _fact(path, fact: str, compute: Callable):
    key = _file_key(path)
    if key is None:  # missing or unreadable: the computation raises its usual error
        return compute()
    with _lock:
        facts = _memo.get(key)
        if facts is not None and fact in facts:
            _memo.move_to_end(key)
            return facts[fact]
        busy = _busy.setdefault((key, fact), threading.Lock())
    with busy:  # a second asker waits for the first instead of reading the file again
        try:
            with _lock:
                facts = _memo.get(key)
                if facts is not None and fact in facts:
                    return facts[fact]
            value = compute()
            if _file_key(path) == key:  # not remembered when the file changed while it was read
                with _lock:
                    _memo.setdefault(key, {})[fact] = value
                    _memo.move_to_end(key)
                    while len(_memo) > MEMO_FILES:
                        _memo.popitem(last=False)
            return value
        finally:
            with _lock:
                _busy.pop((key, fact), None)


def source_sha256(path) -> str:
    """sha256 of the file's bytes (hex), remembered.

    Raises
    ------
    OSError
        The file cannot be read.
    """
    from ..ingest.audio import file_sha256

    return _fact(path, "sha256", lambda: file_sha256(Path(path)))


def source_probe(path, *, field: str = "clip"):
    """:func:`songreel.media.probe_video` of the file, remembered (``field`` names it in errors).

    Raises
    ------
    MissingFileError, MediaError
    """
    from ..media import probe_video

    return _fact(path, "probe", lambda: probe_video(path, field=field))


def source_duration(path, *, field: str = "clip") -> float:
    """:func:`songreel.media.media_duration` of the file in seconds, remembered.

    Raises
    ------
    MissingFileError, MediaError
    """
    from ..media import media_duration

    return _fact(path, "duration", lambda: media_duration(path, field=field))


def source_copy_reason(path) -> Optional[str]:
    """:func:`songreel.generate.footage.copy_reason` of the file, remembered."""
    from .footage import copy_reason

    return _fact(path, "copy_reason", lambda: copy_reason(Path(path)))


def known_facts(path) -> set:
    """Names of the facts remembered about the file as it is now (``sha256``, ``probe`` ...)."""
    key = _file_key(path)
    with _lock:
        return set(_memo.get(key, {})) if key is not None else set()


def prefetch_sources(paths: Iterable) -> Optional[threading.Thread]:
    """Work out every fact about ``paths`` on a daemon thread; None when there is nothing to do.

    Hashes come first (every clip key needs them), then what the footage backend reads of a video
    it has to make a clip from. Failures are logged and dropped: they come back, as the usual
    one-line error, where the fact is used.
    """
    files = list(dict.fromkeys(os.fspath(p) for p in paths))
    if not files:
        return None
    thread = threading.Thread(target=_prefetch, args=(files,), name="songreel-prefetch", daemon=True)
    thread.start()
    return thread


def _prefetch(files: list) -> None:
    for path in files:
        _quietly(source_sha256, path)
    for path in files:
        info = _quietly(source_probe, path)
        if info is not None and not info.is_image:
            _quietly(source_duration, path)
            _quietly(source_copy_reason, path)


def _quietly(fn: Callable, path):
    try:
        return fn(path)
    except Exception as e:  # raised again where the fact is used, not on this thread
        logger.debug("prefetch of %s: %s failed: %s", path, fn.__name__, e)
        return None

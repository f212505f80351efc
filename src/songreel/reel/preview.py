"""The director's preview: the whole storyboard on its real beat grid, drawn by the animatic, small and
quickly encoded — what one iterates on before spending GPU time or money."""

from __future__ import annotations

from ..errors import InputError
from ..schema.storyboard import BackendSpec, EncodeSpec, ExecutorSpec, ImagesSpec, Storyboard

#: lines of a preview frame (854x480 for 16:9); a storyboard already smaller keeps its size
PREVIEW_HEIGHT = 480
#: x264 settings of a preview: fast, and good enough to judge timing, framing and colour
PREVIEW_ENCODE = {"preset": "veryfast", "crf": 23}
#: the animatic's own clips in a preview: no finer than the preview itself (fewer bits to write and read)
PREVIEW_ANIMATIC = {"crf": 23}


def preview_size(width: int, height: int, lines: int = PREVIEW_HEIGHT) -> tuple[int, int]:
    """``(width, height)`` scaled to ``lines`` lines (never up), both even, the aspect kept."""
    if height <= lines:
        return width, height
    w = max(2, 2 * round(width * lines / height / 2))
    return w, lines - lines % 2


def preview_storyboard(sb: Storyboard, *, lines: int = PREVIEW_HEIGHT) -> Storyboard:
    """The preview of ``sb``: the same song, shots, lengths, transitions, camera moves and looks, with
    every generated shot drawn by the animatic (no weights, no GPU, nothing paid; its clips no finer
    than the preview), the user's footage kept, one take per shot, character sheets and keyframes
    procedural, the frame scaled to ``lines`` lines and a fast encode.

    Parameters
    ----------
    sb : Storyboard
    lines : int
        Frame height of the preview (even, at least 16).

    Returns
    -------
    Storyboard
        Same path (so relative names and the clip store are the project's).
    """
    if lines < 16 or lines % 2:
        raise InputError(f"preview lines: got {lines}, expected an even number of at least 16")
    w, h = preview_size(sb.video.width, sb.video.height, lines)
    shots = [s if s.clip is not None else s.model_copy(update={"backend": None, "takes": 1}) for s in sb.shots]
    encode = EncodeSpec.model_validate({**sb.encode.model_dump(), **PREVIEW_ENCODE})
    return sb.with_(shots=shots, video=sb.video.model_copy(update={"width": w, "height": h}),
                    backend=BackendSpec(name="animatic", options=dict(PREVIEW_ANIMATIC)), encode=encode,
                    executor=ExecutorSpec(), images=ImagesSpec())

"""The output container: H.264/H.265 video from frames, the song's audio carried unchanged.

Audio is stream-copied when MP4 can hold the song's codec as is (AAC, MP3, ALAC); otherwise it is
decoded and encoded once as AAC at a high bitrate. It is never stretched and never cut short.

:class:`Output` encodes frames (with the song, or video only for a chunk of the film);
:class:`Joiner` writes the film from encoded chunks by stream copy, the song muxed once.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator, Optional

from ..schema.storyboard import EncodeSpec

MP4_COPY_CODECS = {"aac", "mp3", "mp3float", "alac"}
CODECS = {"h264": "libx264", "h265": "libx265"}


class _WithSong:
    """What an MP4 written with the song alongside shares: finishing the song, closing, giving up."""

    container: Any
    _audio: Optional[_AudioFeed]

    def _finish(self, audio: Optional[_AudioFeed]) -> None:
        if audio is not None:
            audio.feed_until(float("inf"))
            audio.flush()
        self.container.close()

    def abort(self) -> None:
        try:
            self.container.close()
        except Exception:
            pass

    @property
    def audio_mode(self) -> str:
        return self._audio.mode if self._audio is not None else "none"


class Output(_WithSong):
    """An MP4 being written: one video stream fed frame by frame, the song muxed alongside."""

    def __init__(self, path: Path, width: int, height: int, fps: Fraction, encode: EncodeSpec,
                 song: Optional[Path], *, threads: int = 0):
        import av

        self.path = Path(path)
        self.fps = Fraction(fps)
        self.container = av.open(str(self.path), mode="w", format="mp4",
                                 options={"movflags": "+faststart"})
        vs = self.container.add_stream(CODECS[encode.codec], rate=self.fps)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.time_base = 1 / self.fps
        self._frame_tb = 1 / self.fps
        opts = {"crf": str(encode.crf), "preset": encode.preset}
        if encode.codec == "h265":
            opts["x265-params"] = "log-level=error"
            vs.codec_context.codec_tag = "hvc1"  # plays in QuickTime/Safari
        vs.options = opts
        vs.codec_context.thread_count = threads
        # PyAV opens every codec context with thread_type SLICE, which libavcodec's libx264 wrapper turns
        # into x264 *sliced* threads: each frame cut into slices encoded in parallel while the calling
        # thread waits, slice-type decisions in the calling thread — on 2 cores that left ~0.2 of a
        # core idle and costs a little compression. FRAME gives x264's own frame threading (threads =
        # 1.5 x cores, a lookahead thread), as the ffmpeg CLI does; libx265 ignores the flag (it runs
        # its own pool).
        vs.codec_context.thread_type = "FRAME"
        self.video = vs
        self.frames = 0
        self._audio = _AudioFeed(self.container, song, encode) if song is not None else None

    def write_planes(self, planes) -> None:
        """Encode one ``(H * 3 // 2, W)`` yuv420p frame."""
        import av

        frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
        self.write_frame(frame)

    def write_frame(self, frame) -> None:
        """Encode an ``av.VideoFrame`` in yuv420p at the stream size (a decoded frame passes straight
        through: its pts is replaced, and its picture type cleared so the decoder's keyframes do not
        force keyframes in the output)."""
        frame.pts = self.frames
        frame.pict_type = 0
        # the codec counts frames; the muxer may change the stream's time_base (mp4: 1/12288) on header write
        frame.time_base = self._frame_tb
        for packet in self.video.encode(frame):
            self.container.mux(packet)
        self.frames += 1
        # keep audio interleaved close to the video time
        if self._audio is not None:
            self._audio.feed_until(float(self.frames / self.fps) + 0.5)

    def close(self) -> None:
        for packet in self.video.encode():
            self.container.mux(packet)
        self._finish(self._audio)


class Joiner(_WithSong):
    """The film from encoded chunks: each chunk's video packets copied in order, their timestamps
    offset by the chunk's first frame, the song muxed alongside (once, never cut).

    All chunks must come from the same encoder settings: their codec parameters (SPS/PPS) are
    checked against the first one.
    """

    def __init__(self, path: Path, fps: Fraction, encode: EncodeSpec, song: Path):
        import av

        self.path = Path(path)
        self.fps = Fraction(fps)
        self.encode = encode
        self.song = song
        self.container = av.open(str(self.path), mode="w", format="mp4", options={"movflags": "+faststart"})
        self.video: Optional[Any] = None  # an av stream, set by the first chunk
        self._extradata: Optional[bytes] = None
        self._audio: Optional[_AudioFeed] = None
        self.frames = 0

    def _feed(self) -> _AudioFeed:
        if self._audio is None:
            from ..errors import MediaError

            raise MediaError(f"{self.path}: no chunk has been joined, so there is no film to finish")
        return self._audio

    def add(self, chunk_path: Path, start: int, frames: int) -> None:
        """Copy the video packets of ``chunk_path`` (``frames`` frames, the film's ``start..``)."""
        import av

        from .chunks import frame_offset

        with av.open(str(chunk_path)) as src:
            vs = src.streams.video[0]
            if self.video is None:
                video = self.container.add_stream_from_template(vs)
                video.time_base = vs.time_base
                if self.encode.codec == "h265":
                    video.codec_context.codec_tag = "hvc1"
                self.video = video
                self._extradata = vs.codec_context.extradata
                self._audio = _AudioFeed(self.container, self.song, self.encode)
            elif vs.codec_context.extradata != self._extradata:
                raise ValueError(f"{chunk_path}: encoded with other settings than the film's first chunk")
            offset = frame_offset(start, self.fps, vs.time_base)
            n = 0
            for packet in src.demux(vs):
                if packet.size == 0:
                    continue
                packet.pts += offset
                packet.dts += offset
                packet.stream = self.video
                self.container.mux(packet)
                n += 1
            if n != frames:
                raise ValueError(f"{chunk_path}: holds {n} frames, expected {frames}")
        self.frames += frames
        self._feed().feed_until(float(self.frames / self.fps) + 0.5)

    def close(self) -> None:
        self._finish(self._feed())


class _AudioFeed:
    """Copy or transcode the song's first audio stream into ``container``, in time order."""

    def __init__(self, container, song: Path, encode: EncodeSpec):
        import av

        self.container = container
        self.src = av.open(str(song))
        self.in_stream = self.src.streams.audio[0]
        codec = self.in_stream.codec_context.name
        copy = encode.audio == "copy" or (encode.audio == "auto" and codec in MP4_COPY_CODECS)
        if copy and codec not in MP4_COPY_CODECS:
            from ..errors import InputError

            raise InputError(f"encode.audio: got copy, but MP4 cannot carry the song's {codec} audio as is; "
                             "expected auto or aac")
        self.mode = "copy" if copy else "aac"
        if copy:
            self.out_stream = container.add_stream_from_template(self.in_stream)
            self._packets: Iterator = self._copy_packets()
        else:
            rate = self.in_stream.codec_context.sample_rate
            rate = rate if rate in (44100, 48000, 32000, 22050, 24000, 16000, 88200, 96000) else 48000
            layout = "mono" if self.in_stream.codec_context.channels == 1 else "stereo"
            self.out_stream = container.add_stream("aac", rate=rate, layout=layout)
            self.out_stream.bit_rate = encode.audio_bitrate
            self._resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
            self._packets = self._encode_packets()
        self._pending: Optional[Any] = None  # the next av packet, read but not yet muxed
        self._done = False

    def _copy_packets(self):
        for packet in self.src.demux(self.in_stream):
            if packet.dts is None:
                continue
            yield packet

    def _encode_packets(self):
        pts = 0
        for frame in self.src.decode(self.in_stream):
            for out in self._resampler.resample(frame):
                out.pts = pts
                pts += out.samples
                yield from self.out_stream.encode(out)
        for out in self._resampler.resample(None):
            out.pts = pts
            pts += out.samples
            yield from self.out_stream.encode(out)
        yield from self.out_stream.encode(None)

    def feed_until(self, seconds: float) -> None:
        while not self._done:
            if self._pending is None:
                try:
                    self._pending = next(self._packets)
                except StopIteration:
                    self._done = True
                    break
            p = self._pending
            t = float(p.pts * p.time_base) if p.pts is not None and p.time_base else 0.0
            if t > seconds:
                break
            p.stream = self.out_stream
            self.container.mux(p)
            self._pending = None

    def flush(self) -> None:
        self.src.close()


def probe_output(path: Path) -> dict:
    """Count what a rendered file really holds, from its packets (no decode).

    Returns
    -------
    dict
        ``video_frames``, ``video_seconds`` (frames / rate), ``audio_seconds`` (from the last audio
        packet's end), ``audio_codec``.
    """
    import av

    video_frames = 0
    video_seconds = 0.0
    audio_seconds = 0.0
    audio_codec: Optional[str] = None
    with av.open(str(path)) as c:
        vs = c.streams.video[0] if c.streams.video else None
        as_ = c.streams.audio[0] if c.streams.audio else None
        end_audio = 0.0
        first_audio: Optional[float] = None
        for p in c.demux():
            if p.size == 0:
                continue
            if vs is not None and p.stream is vs:
                video_frames += 1
            elif as_ is not None and p.stream is as_ and p.pts is not None:
                t0 = float(p.pts * p.time_base)
                first_audio = t0 if first_audio is None else min(first_audio, t0)
                end_audio = max(end_audio, t0 + float((p.duration or 0) * p.time_base))
        if vs is not None:
            rate = vs.average_rate or vs.guessed_rate
            video_seconds = video_frames / float(rate) if rate else 0.0
        if as_ is not None:
            audio_codec = as_.codec_context.name
            audio_seconds = end_audio - max(0.0, first_audio or 0.0)
    return {"video_frames": video_frames, "video_seconds": video_seconds, "audio_seconds": audio_seconds,
            "audio_codec": audio_codec}

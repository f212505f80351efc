"""``songreel draft``: storyboards drafted on the song's bars, offline and through a chat completions server.

Every draft is loaded, planned and rendered with the animatic (160x90 at 12 fps), then the MP4 is
decoded: frame count, hard cuts on the planned beat frames (±1), audio length.
"""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import numpy as np
import pytest
from chat_server import ChatServer, good_answer, sections_from_request
from conftest import DATA, audio_seconds, cut_frames

from songreel import reel
from songreel.draft import draft
from songreel.errors import InputError, OutputError

SMALL = dict(width=160, height=90, fps=12)
CONCEPT = "a couple's life, high school to old age, one endless zoom"


def _song(folder: Path, **kw) -> Path:
    from songreel.synth import render_song, write_wav

    s = render_song(sample_rate=22050, **kw)
    folder.mkdir(parents=True, exist_ok=True)
    return write_wav(folder / "song.wav", s.samples, s.sample_rate)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """One analysis cache for the module: each song is analysed once."""
    return tmp_path_factory.mktemp("analysis-cache")


@pytest.fixture(scope="module")
def pop_song(tmp_path_factory) -> Path:
    """34 s, 140 BPM 4/4: intro 2, verse 4, chorus 4, verse 4, chorus 4, outro 2 bars."""
    return _song(tmp_path_factory.mktemp("pop"), bpm=140.0, meter=4, sections=(
        ("intro", 2), ("verse", 4), ("chorus", 4), ("verse", 4), ("chorus", 4), ("outro", 2)))


def decode_rgb_small(path: Path, size=(64, 36)) -> np.ndarray:
    """All frames, downscaled RGB, shape (n, h, w, 3) float32 (two scenes can share a luma but not a colour)."""
    import av

    with av.open(str(path)) as c:
        return np.stack([f.reformat(width=size[0], height=size[1], format="rgb24").to_ndarray().astype(np.float32)
                         for f in c.decode(video=0)])


def render_checked(sb_path: Path, out: Path):
    """Render with the animatic and check the sync contract on the decoded MP4."""
    res = reel.render(sb_path, out, force=True, encode={"preset": "ultrafast"})
    plan = res.edit.plan
    rgb = decode_rgb_small(res.video)
    assert len(rgb) == plan.total_frames
    assert abs(audio_seconds(res.video) - plan.duration) <= 0.05
    sync = res.report["sync"]
    assert sync["video_frames"] == plan.total_frames
    assert abs(sync["length_delta_ms"]) <= 50
    assert sync["max_cut_error_ms"] <= sync["half_frame_ms"] + 15
    beat_frames = set(plan.beat_frames)
    assert all(c in beat_frames for c in plan.cuts), "every cut is on a beat frame"
    if plan.look == "cuts":
        diffs = np.abs(np.diff(rgb, axis=0)).mean(axis=(1, 2, 3))    # diffs[k]: frame k -> k+1
        hard = [s.end for s in plan.shots[:-1] if s.transition.kind == "cut"]
        for c in hard:  # the picture jumps at the planned frame (±1), more than anywhere around it
            near = diffs[max(0, c - 2):c + 1]
            around = np.concatenate([diffs[max(0, c - 12):max(0, c - 2)], diffs[c + 1:c + 12]])
            assert near.max() > max(2.0, 3 * float(np.median(around)) if len(around) else 0.0), (c, near, around)
        found = cut_frames(rgb.mean(axis=3))
        soft = [(s.transition.start, s.transition.end) for s in plan.shots[:-1] if s.transition.kind != "cut"]
        for f in found:  # nothing jumps where no cut is planned
            assert any(abs(f - c) <= 1 for c in hard) or any(a - 1 <= f <= b + 1 for a, b in soft), (f, plan.cuts)
    return res


def section_start_frames(result) -> list:
    g = result.structure.grid
    return [g.frame_of(s.start) for s in result.structure.sections[1:]]


# ---------------------------------------------------------------------------------------------------
# offline


def test_offline_draft_renders_in_sync_and_cuts_on_downbeats_and_sections(tmp_path, pop_song, cache):
    res = draft(pop_song, concept=CONCEPT, out=tmp_path / "story.yaml", cache_dir=cache, **SMALL)
    assert res.path == tmp_path / "story.yaml" and res.path.read_text() == res.yaml
    assert res.endpoint is None and res.calls == 0
    plan = res.plan
    downbeats = {plan.beat_frames[i] for i in plan.downbeat_beats}
    assert all(c in downbeats for c in plan.cuts), "offline cuts land on downbeats"
    assert set(section_start_frames(res)) <= set(plan.cuts), "every section change is a cut"
    # every shot's comment carries its section and time
    for shot in plan.shots:
        assert f"# {shot.index + 1} · {res.answer.shots[shot.index].section} · bar {shot.position} · " in res.yaml
    # the written file is what the loader reads; the song path is relative
    assert 'song: "../' in res.yaml or 'song: "' in res.yaml
    render_checked(res.path, tmp_path / "out.mp4")


def test_offline_draft_is_deterministic_and_follows_shots_and_cut_every(tmp_path, pop_song, cache):
    a = draft(pop_song, concept=CONCEPT, cache_dir=cache, **SMALL)
    b = draft(pop_song, concept=CONCEPT, cache_dir=cache, **SMALL)
    assert a.yaml == b.yaml and a.path is None
    n = draft(pop_song, concept=CONCEPT, shots=11, cache_dir=cache, **SMALL)
    assert len(n.plan.shots) == 11
    assert set(section_start_frames(n)) <= set(n.plan.cuts)
    one = draft(pop_song, concept=CONCEPT, cut_every="1bar", cache_dir=cache, **SMALL)
    assert len(one.plan.shots) == one.structure.bars
    beats = draft(pop_song, concept=CONCEPT, cut_every="6 beats", cache_dir=cache, **SMALL)
    assert all(c in set(beats.plan.beat_frames) for c in beats.plan.cuts)
    with pytest.raises(InputError, match="--shots: got 2, but the song has"):
        draft(pop_song, concept=CONCEPT, shots=2, cache_dir=cache, **SMALL)


@pytest.mark.parametrize("kind", ["waltz-lead-in", "six-eight-zoom"])
def test_offline_draft_on_other_meters_renders(tmp_path, cache, kind):
    if kind == "waltz-lead-in":
        song = _song(tmp_path / "s", bpm=150.0, meter=3, lead_in=0.3,
                     sections=(("intro", 2), ("verse", 4), ("chorus", 4), ("outro", 2)))
        res = draft(song, concept="a dance hall through the decades", cut_every="2 bars", out=tmp_path / "w.yaml",
                    cache_dir=cache, **SMALL)
    else:
        song = _song(tmp_path / "s", bpm=180.0, meter=6, sections=(("verse", 2), ("chorus", 3), ("bridge", 2),
                                                                   ("chorus", 3)))
        res = draft(song, concept=CONCEPT, look="infinite-zoom", out=tmp_path / "z.yaml", cache_dir=cache, **SMALL)
        assert "look: infinite-zoom" in res.yaml and "transition:" not in res.yaml
    assert set(section_start_frames(res)) <= set(res.plan.cuts)
    render_checked(res.path, tmp_path / "out.mp4")


def test_timed_lyrics_are_carried_by_the_shots_sung_over(tmp_path, pop_song, cache):
    lrc = tmp_path / "words.lrc"
    lrc.write_text("[00:07.00]we met by the lockers\n[00:15.00]{not a character} and a slow dance\n", encoding="utf-8")
    res = draft(pop_song, concept=CONCEPT, lyrics=lrc, out=tmp_path / "story.yaml", cache_dir=cache, **SMALL)
    assert 'lyrics: "words.lrc"' in res.yaml
    assert res.storyboard.lyrics == lrc
    carried = [s for s in res.answer.shots if s.lyric is not None]
    assert [s.lyric for s in carried] == [1, 2]
    assert "we met by the lockers" in carried[0].prompt and "{" not in carried[1].prompt
    for s in carried:
        planned = res.plan.shots[res.answer.shots.index(s)]
        line = res.structure.lyrics[s.lyric - 1]
        assert planned.start <= round(line.seconds * 12) < planned.end


def test_never_overwrites_without_force_and_checks_arguments(tmp_path, pop_song, cache):
    out = tmp_path / "story.yaml"
    out.write_text("my own storyboard\n")
    with pytest.raises(OutputError, match="already exists; use --force"):
        draft(pop_song, concept=CONCEPT, out=out, cache_dir=cache, **SMALL)
    assert out.read_text() == "my own storyboard\n"
    res = draft(pop_song, concept=CONCEPT, out=out, force=True, cache_dir=cache, **SMALL)
    assert out.read_text() == res.yaml
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
    for kwargs, match in [(dict(shots=3, cut_every="2 bars"), "got both"),
                          (dict(cut_every="2 s"), "--cut-every: got '2 s', expected whole"),
                          (dict(look="zoom"), "--look: got 'zoom'"),
                          (dict(llm="http://127.0.0.1:9/v1"), "--model: missing"),
                          (dict(model="x"), "--model: got 'x' without --llm"),
                          (dict(llm="localhost:11434", model="m"), "--llm: got 'localhost:11434', expected"),
                          (dict(concept=" "), "--concept")]:
        args = dict(concept=CONCEPT, cache_dir=cache, **SMALL)
        args.update(kwargs)
        with pytest.raises(InputError, match=match):
            draft(pop_song, **args)


# ---------------------------------------------------------------------------------------------------
# through a language model (a stand-in chat completions server)


def bad_then_good(body):
    return "Sure! Here is your storyboard: {shots: [...]}"     # not JSON at all


def unknown_section(body):
    doc = json.loads(good_answer(body))
    doc["shots"][0]["section"] = "verse 9"
    return json.dumps(doc)


def test_llm_draft_reasks_once_and_renders(tmp_path, pop_song, cache, caplog):
    caplog.set_level(logging.DEBUG)
    events = []
    with ChatServer([bad_then_good, good_answer]) as srv:
        srv.events = events
        res = draft(pop_song, concept=CONCEPT, llm=srv.url, model="stand-in", style="soft 35mm film",
                    out=tmp_path / "story.yaml", cache_dir=cache,
                    progress=lambda f, m: events.append(m) if m.startswith("asking") else None, **SMALL)
    assert srv.violations == []
    assert res.calls == 2 and len(srv.requests) == 2
    assert res.endpoint == srv.url + "/chat/completions"
    assert events[0].startswith(f"asking stand-in at {srv.url}/chat/completions") and events[1] == "request"
    assert any("asked again" in n for n in res.notes)
    # the re-ask carries the first answer and what was wrong with it
    second = srv.requests[1][1]["messages"]
    assert second[2] == {"role": "assistant", "content": bad_then_good(None)}
    assert "not valid JSON" in second[3]["content"]
    # characters with looks per age became storyboard characters
    sb = res.storyboard
    assert set(sb.characters) == {"her", "her_teen", "her_old", "him"}
    assert "at sixteen" in sb.characters["her_teen"].description
    assert sb.style == "soft 35mm film"
    assert set(section_start_frames(res)) <= set(res.plan.cuts)
    assert any(s.transition and s.transition.kind == "crossfade" for s in res.plan.shots)
    render_checked(res.path, tmp_path / "out.mp4")


def test_the_request_carries_text_only_never_audio(tmp_path, pop_song, cache):
    lrc = tmp_path / "w.lrc"
    lrc.write_text("[00:03.00]hello there\n", encoding="utf-8")
    with ChatServer([good_answer]) as srv:
        draft(pop_song, concept=CONCEPT, lyrics=lrc, llm=srv.url, model="m", cache_dir=cache, **SMALL)
    (_, body, raw), = srv.requests
    assert set(body) == {"model", "messages", "response_format"}
    assert all(isinstance(m["content"], str) for m in body["messages"])
    text = body["messages"][1]["content"]
    assert CONCEPT in text and "hello there" in text and "bars 1-" in text
    assert len(raw) < 20_000 < pop_song.stat().st_size
    audio = pop_song.read_bytes()
    pcm = audio[44 + 40_000: 44 + 40_000 + 3000]   # a stretch of the song's samples, as bytes and as base64
    assert pcm not in raw and base64.b64encode(pcm)[:64] not in raw
    assert b"input_audio" not in raw and b"RIFF" not in raw and b"UklGR" not in raw


def test_length_mismatch_is_repaired_without_asking_again(tmp_path, pop_song, cache):
    def long_last(body):
        doc = json.loads(good_answer(body))
        doc["shots"][-1]["bars"] += 3      # the song's last shot too long: it runs to the end anyway
        return json.dumps(doc)

    with ChatServer([long_last]) as srv:
        res = draft(pop_song, concept=CONCEPT, llm=srv.url, model="m", cache_dir=cache, **SMALL)
    assert res.calls == 1 and any("filled exactly" in n for n in res.notes)
    assert res.plan.shots[-1].end == res.plan.total_frames


def test_overrunning_section_is_sent_back_with_the_problem(tmp_path, pop_song, cache):
    def overrun(body):
        doc = json.loads(good_answer(body, phrase_bars=1))
        first = doc["shots"][0]["section"]
        doc["shots"][0]["bars"] = 50       # not the last of its section: cannot be absorbed
        assert doc["shots"][1]["section"] == first
        return json.dumps(doc)

    with ChatServer([overrun, good_answer]) as srv:
        res = draft(pop_song, concept=CONCEPT, llm=srv.url, model="m", cache_dir=cache, **SMALL)
    assert res.calls == 2
    assert "they must add up to exactly" in srv.requests[1][1]["messages"][3]["content"]


def test_busy_server_is_retried_and_a_refusal_or_cut_off_answer_is_clear(pop_song, cache):
    from songreel.draft.llm import DraftError

    with ChatServer([lambda b: {"status": 503}, good_answer]) as srv:
        res = draft(pop_song, concept=CONCEPT, llm=srv.url, model="m", cache_dir=cache, **SMALL)
    assert res.calls == 1 and len(srv.requests) == 2 and srv.violations == []
    with ChatServer([lambda b: {"refusal": "I can't help with that."}]) as srv:
        with pytest.raises(DraftError, match="the model refused: I can't help with that"):
            draft(pop_song, concept=CONCEPT, llm=srv.url, model="m", cache_dir=cache, **SMALL)
    cut_off = lambda b: {"content": good_answer(b)[:200], "finish_reason": "length"}  # noqa: E731
    with ChatServer([cut_off, cut_off]) as srv:
        with pytest.raises(DraftError, match=r'the second: the answer was cut off \(finish_reason "length"\)'):
            draft(pop_song, concept=CONCEPT, llm=srv.url, model="m", cache_dir=cache, **SMALL)


def _cli(args, monkeypatch, cwd):
    from typer.testing import CliRunner

    from songreel.cli.main import app

    monkeypatch.chdir(cwd)
    monkeypatch.setenv("COLUMNS", "250")
    r = CliRunner().invoke(app, args, catch_exceptions=True)
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r


def test_cli_two_bad_answers_is_one_error_line_exit_2(tmp_path, pop_song, cache, monkeypatch):
    import shutil

    shutil.copy(pop_song, tmp_path / "song.wav")
    shutil.copytree(cache, tmp_path / ".songreel" / "analysis")
    with ChatServer([bad_then_good, unknown_section]) as srv:
        r = _cli(["draft", "song.wav", "--concept", CONCEPT, "--llm", srv.url, "--model", "stand-in",
                  "-o", "story.yaml"], monkeypatch, tmp_path)
    assert r.exit_code == 2
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert lines[0] == "analysing song.wav"
    assert lines[1].startswith(f"asking stand-in at {srv.url}/chat/completions (sending the concept")
    assert "the first answer did not fit the song" in lines[2]
    assert lines[-1].startswith(f"error: --llm: stand-in at {srv.url}/chat/completions gave two answers that do "
                                'not fit the song; the second: shot 1: section "verse 9" is not in the song')
    assert "Traceback" not in r.stderr and len(srv.requests) == 2
    assert not (tmp_path / "story.yaml").exists()


def test_cli_key_from_env_is_sent_but_never_shown(tmp_path, pop_song, cache, monkeypatch, caplog):
    import shutil

    caplog.set_level(logging.DEBUG)
    secret = "sk-test-DO-NOT-SHOW-4242"
    shutil.copy(pop_song, tmp_path / "song.wav")
    shutil.copytree(cache, tmp_path / ".songreel" / "analysis")
    monkeypatch.setenv("MY_LLM_KEY", secret)
    with ChatServer([good_answer], key=secret) as srv:
        r = _cli(["draft", "song.wav", "--concept", CONCEPT, "--llm", srv.url, "--model", "m", "--llm-key-env",
                  "MY_LLM_KEY", "--size", "160x90", "--fps", "12", "-o", "story.yaml"], monkeypatch, tmp_path)
        assert r.exit_code == 0, r.stderr
        assert len(srv.requests) == 1
        text = (tmp_path / "story.yaml").read_text()
        for where in (r.stdout, r.stderr, caplog.text, text):
            assert secret not in where
        from songreel.draft.llm import ChatClient

        assert secret not in repr(ChatClient(srv.url, api_key=secret))
        # without the key: the server's 401 becomes one line naming the variable, not the key
        monkeypatch.delenv("MY_LLM_KEY")
        r = _cli(["draft", "song.wav", "--concept", CONCEPT, "--llm", srv.url, "--model", "m", "-o", "b.yaml"],
                 monkeypatch, tmp_path)
    assert r.exit_code == 2
    last = [x for x in r.stderr.splitlines() if x.strip()][-1]
    assert "answered HTTP 401" in last and "$OPENAI_API_KEY, which is not set" in last
    assert secret not in r.stderr + caplog.text


def test_cli_server_down_is_one_line(tmp_path, pop_song, cache, monkeypatch):
    import shutil
    import socket

    shutil.copy(pop_song, tmp_path / "song.wav")
    shutil.copytree(cache, tmp_path / ".songreel" / "analysis")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = _cli(["draft", "song.wav", "--concept", CONCEPT, "--llm", f"http://127.0.0.1:{port}/v1", "--model", "m",
              "-o", "story.yaml"], monkeypatch, tmp_path)
    assert r.exit_code == 2
    last = [x for x in r.stderr.splitlines() if x.strip()][-1]
    assert last.startswith(f"error: --llm: cannot connect to http://127.0.0.1:{port}/v1/chat/completions")


def test_stand_in_server_is_strict(pop_song):
    """The stand-in refuses what the real API refuses (so the tests above would catch a bad request)."""
    import httpx

    with ChatServer([good_answer, good_answer]) as srv:
        bad = {"model": "m", "messages": [{"role": "user", "content": "hi"}],
               "response_format": {"type": "json_schema", "json_schema": {
                   "name": "x", "strict": True, "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}}}
        r = httpx.post(srv.url + "/chat/completions", json=bad)
        assert r.status_code == 400 and "additionalProperties" in r.json()["error"]["message"]
        r = httpx.post(srv.url + "/chat/completions", json={"model": "m", "messages": [{"role": "user",
                                                                                           "content": [1]}]})
        assert r.status_code == 400
        assert sections_from_request({"messages": [{}, {"content": "- chorus 2: bars 9-16 (8 bars), from"}]}) == \
            [("chorus 2", 8)]


# ---------------------------------------------------------------------------------------------------
# real songs


REAL = DATA / "audio"
DECODABLE = ["librosa/sorohanro_-_solo-trumpet-06.ogg", "beatnet/808kick120bpm.mp3", "madmom/sample.wav",
             "ballroom/Media-105901.wav", "gtzan/country.00000.wav", "librosa/admiralbob77_-_Choice_-_Drum-bass.ogg",
             "librosa/Kevin_MacLeod_-_Vibe_Ace.ogg", "sargon/Mindless_cut.mp3",
             "librosa/Karissa_Hobbs_-_Lets_Go_Fishin.ogg"]


def _real(rel: str) -> Path:
    p = REAL / rel
    if not p.exists():
        pytest.skip(f"shared test material not present: {p}")
    return p


def _real_case(rel: str, tmp_path: Path, cache: Path, *, llm: bool = False) -> None:
    song = _real(rel)
    if llm:
        with ChatServer([good_answer]) as srv:
            res = draft(song, concept=CONCEPT, llm=srv.url, model="m", out=tmp_path / "llm.yaml", cache_dir=cache,
                        **SMALL)
        assert srv.violations == [] and res.calls == 1
    else:
        res = draft(song, concept=CONCEPT, out=tmp_path / "story.yaml", cache_dir=cache, **SMALL)
    assert res.plan.shots[-1].end == res.plan.total_frames
    assert set(section_start_frames(res)) <= set(res.plan.cuts)
    render_checked(res.path, tmp_path / "out.mp4")


def test_real_song_offline_draft_renders(tmp_path, cache):
    _real_case("beatnet/808kick120bpm.mp3", tmp_path, cache)


@pytest.mark.slow
@pytest.mark.parametrize("llm", [False, True], ids=["offline", "llm"])
@pytest.mark.parametrize("rel", DECODABLE)
def test_every_real_song_drafts_and_renders(rel, llm, tmp_path, cache):
    _real_case(rel, tmp_path, cache, llm=llm)


def test_every_audio_file_in_the_shared_folder_is_covered():
    if not REAL.exists():
        pytest.skip(f"shared test material not present: {REAL}")
    audio = {p.relative_to(REAL).as_posix() for p in REAL.rglob("*")
             if p.suffix.lower() in (".wav", ".mp3", ".ogg", ".flac", ".m4a")}
    assert audio == set(DECODABLE) | {"jsonize/broken-wav.wav"}


def test_undecodable_song_is_one_clear_error(tmp_path, cache):
    from songreel.errors import SongreelError

    song = _real("jsonize/broken-wav.wav")
    with pytest.raises(SongreelError) as e:
        draft(song, concept=CONCEPT, out=tmp_path / "s.yaml", cache_dir=cache, **SMALL)
    assert "broken-wav.wav" in str(e.value) and "\n" not in str(e.value)
    assert not (tmp_path / "s.yaml").exists()


def test_import_songreel_draft_stays_light():
    import subprocess
    import sys

    code = ("import sys, songreel.draft, songreel.cli.draft; "
            "print(any(m in sys.modules for m in ('httpx', 'librosa', 'torch', 'av')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"

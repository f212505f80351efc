"""The studio as people and scripts use it: ``songreel studio`` started by the test on a free loopback
port, driven through gradio_client's named endpoints and through headless Debian chromium (Playwright).

The browser test does what a person does (upload a song, add two shots, change one shot's length,
preview, render) and then decodes the MP4 it made: frame count, cut positions against the planned cut
frames, audio length. ``SONGREEL_DOC_SHOTS=1`` also saves the screenshots used in ``docs/studio.md``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("gradio", reason="the studio extra is not installed (pip install 'songreel[studio]')")
pytest.importorskip("ruamel.yaml", reason="the studio extra is not installed (pip install 'songreel[studio]')")

from conftest import audio_seconds, cut_frames, decode_gray_small  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DOCS = Path(__file__).resolve().parents[1] / "docs" / "studio"
FPS = 12
SONG_SECONDS = 10.5  # 5 bars at 120 BPM and a 0.5 s tail

STARTER = """\
songreel: 1
title: studio test
# the song is chosen in the studio
song: placeholder.wav
video: {width: 160, height: 90, fps: 12}   # tiny: the test decodes every frame
encode: {preset: ultrafast}
style: "pastel animatic"
characters:
  her: "a woman in a red coat"
shots:
  - prompt: "{her} at a bus stop"   # opening
    length: 1 bars
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 240.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"the studio exited with {proc.returncode}: {log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(1.0)
    raise RuntimeError(f"the studio did not answer at {url} within {timeout:.0f} s")


@pytest.fixture(scope="module")
def song_file(tmp_path_factory) -> Path:
    from songreel.synth import render_song, write_wav

    d = tmp_path_factory.mktemp("studio-song")
    s = render_song(bpm=120.0, meter=4, sections=(("intro", 2), ("verse", 2), ("chorus", 1)), sample_rate=22050)
    return write_wav(d / "My Song (final).wav", s.samples, s.sample_rate)


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """``songreel studio PROJECT --port P --no-browser`` in a subprocess; yields (url, project folder)."""
    root = tmp_path_factory.mktemp("studio")
    project = root / "project"
    project.mkdir()
    (project / "storyboard.yaml").write_text(STARTER, encoding="utf-8")
    (root / "secret.wav").write_bytes(b"RIFF not yours")
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"), OMP_NUM_THREADS="1")
    log = (root / "studio.log").open("w")
    proc = subprocess.Popen([sys.executable, "-c", "from songreel.cli.main import main; main()", "studio",
                             str(project), "--port", str(port), "--no-browser"],
                            stdout=log, stderr=subprocess.STDOUT, text=True, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_http(url, proc, root / "studio.log")
        yield url, project, port
        assert proc.poll() is None, (root / "studio.log").read_text()
    finally:
        log.close()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


# ---- the named API (gradio_client) -------------------------------------------------------------

STORY = """\
songreel: 1
song: {song}
video: {{width: 160, height: 90, fps: 12}}
encode: {{preset: ultrafast}}
shots:
  - prompt: "a lighthouse at dusk"
    length: 2 bars
  - prompt: "waves on black rocks"
"""


def test_api_analyze_plan_render(studio, song_file):
    from gradio_client import Client, handle_file

    url, project, _port = studio
    client = Client(url, verbose=False)
    info = client.predict(handle_file(str(song_file)), api_name="/analyze")
    assert info["song"] == "My_Song_final.wav"          # sanitised, inside the project
    assert (project / "My_Song_final.wav").read_bytes() == song_file.read_bytes()
    assert abs(info["tempo"] - 120) < 1 and info["meter"] == 4 and info["bars"] >= 5
    assert abs(info["duration"] - SONG_SECONDS) < 0.05
    assert min(abs(info["also_fits"]["tempo"] - t) for t in (60, 240)) < 2    # the other octave

    story = STORY.format(song="My_Song_final.wav")
    plan = client.predict(story, api_name="/plan")
    assert [s["start_frame"] for s in plan["shots"]] == [0, 48]          # 2 bars of 2 s at 12 fps
    assert plan["total_frames"] == round(SONG_SECONDS * FPS)

    video, report = client.predict(story, api_name="/render")
    assert report["sync"]["video_frames"] == plan["total_frames"]
    gray = decode_gray_small(Path(video))
    assert len(gray) == plan["total_frames"]
    assert any(abs(c - 48) <= 1 for c in cut_frames(gray))
    assert abs(audio_seconds(Path(video)) - SONG_SECONDS) < 0.05
    assert Path(report["sync"]["video_frames"] and video).exists()


@pytest.mark.parametrize("song, words", [
    ("../secret.wav", "outside the project folder"),
    ("/etc/hostname", "absolute path"),
    ("escape.wav", "outside the project folder"),      # a symlink pointing out of the project
])
def test_api_refuses_paths_outside_the_project(studio, song, words):
    from gradio_client import Client

    url, project, _port = studio
    link = project / "escape.wav"
    if not link.is_symlink():
        link.symlink_to(project.parent / "secret.wav")
    client = Client(url, verbose=False)
    with pytest.raises(Exception) as e:
        client.predict(STORY.format(song=song), api_name="/plan")
    assert words in str(e.value) and "song" in str(e.value)
    with pytest.raises(Exception) as e:
        client.predict(STORY.format(song=song), api_name="/render")
    assert words in str(e.value)
    assert not list((project / "renders").glob("*escape*")) if (project / "renders").exists() else True


def test_file_route_serves_nothing_outside_the_project(studio):
    url, project, _port = studio
    link = project / "escape-link.wav"
    if not link.is_symlink():
        link.symlink_to(project.parent / "secret.wav")
    for target in (project.parent / "secret.wav", Path("/etc/hostname"), link, project / ".." / "secret.wav"):
        try:
            with urllib.request.urlopen(url + "gradio_api/file=" + str(target), timeout=10) as r:
                body = r.read()
        except urllib.error.HTTPError as e:
            assert e.code in (403, 404)
        else:
            pytest.fail(f"served {target}: {body[:40]!r}")


def _listening(port: int) -> list[str]:
    """Local addresses listening on ``port`` (IPv4 and IPv6), from /proc/net."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            addr, p = local.rsplit(":", 1)
            if int(p, 16) == port and state == "0A":  # LISTEN
                found.append(addr)
    return found


def test_binds_loopback_only(studio):
    url, _project, port = studio
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp on this system to read listening addresses from")
    addrs = _listening(port)
    assert addrs and all(a == "0100007F" for a in addrs), addrs   # 127.0.0.1, little-endian hex


def test_cli_warns_when_not_loopback_and_refuses_a_taken_port(studio):
    _url, project, port = studio
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"))
    r = subprocess.run([sys.executable, "-c", "from songreel.cli.main import main; main()", "studio", str(project),
                        "--host", "0.0.0.0", "--port", str(port), "--no-browser"],
                       capture_output=True, text=True, env=env, timeout=120)
    text = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 2
    assert "warning: listening on 0.0.0.0" in text
    assert f"--port: 0.0.0.0:{port} is not free" in text and "Traceback" not in text


# ---- a person in a browser (Playwright + Debian chromium) -------------------------------------

def _has(sel: str, text: str) -> str:
    """JS: the element ``sel`` exists and its text includes ``text``."""
    return f"(document.querySelector({sel!r}) || {{innerText: ''}}).innerText.includes({text!r})"


def _shot(page, name: str) -> None:
    if os.environ.get("SONGREEL_DOC_SHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / f"{name}.jpg"), type="jpeg", quality=70, full_page=True)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (/usr/bin/chromium)")
def test_browser_song_shots_preview_render(studio, song_file):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    import songreel

    url, project, _port = studio
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(120_000)
        page.goto(url)
        page.wait_for_function(_has("#sr-status-line", "storyboard OK"))

        # Song: upload, analyse, see the beat grid
        page.set_input_files("#sr-song-upload input[type=file]", str(song_file))
        page.click("#sr-analyze")
        # a fresh server's first analysis compiles librosa's numba kernels: allow for it
        page.wait_for_function(_has("#sr-song-info", "BPM"), timeout=300_000)
        page.wait_for_selector("#sr-grid img")
        assert "120" in page.inner_text("#sr-song-info") and "also fits: 60" in page.inner_text("#sr-song-info")
        _shot(page, "song")

        # Shots: add two, then change the second one's length
        page.get_by_role("tab", name="Shots").click()
        for prompt, length in (("{her} on a night train", "2 bars"), ("sunrise over the sea", "")):
            page.fill("#sr-f-prompt textarea, #sr-f-prompt input", prompt)
            page.fill("#sr-f-length textarea, #sr-f-length input", length)
            page.click("#sr-add")
            page.wait_for_function(_has("#sr-yaml", prompt))
        page.wait_for_function(_has("#sr-status-line", "3 shots"))
        # change shot 2's length in the table: the YAML follows
        page.locator('#sr-table [data-testid="cell-1-2"]').dblclick()
        page.keyboard.press("Control+A")
        page.keyboard.type("1 bars")
        page.keyboard.press("Enter")
        page.wait_for_function(_has("#sr-yaml", "night train") + " && !" + _has("#sr-yaml", "2 bars"))
        # and the other way: typed into the YAML, shown in the table
        page.click("#sr-yaml .cm-content")
        page.keyboard.press("Control+End")
        page.keyboard.insert_text("\n    seed: 7")
        page.wait_for_function(_has('#sr-table [data-testid="cell-2-6"]', "7"))
        # the edit form: pick a shot, its fields load
        page.click("#sr-shot-no input")
        page.get_by_role("option", name="shot 2", exact=True).click()
        page.wait_for_function("(document.querySelector('#sr-f-length textarea, #sr-f-length input') || {value: ''})"
                               ".value === '1 bars'")
        # a bad length: the CLI's one-line error, live
        page.fill("#sr-f-length textarea, #sr-f-length input", "3 bras")
        page.click("#sr-update")
        page.wait_for_function(_has("#sr-status-line", "3 bras"))
        assert "expected" in page.inner_text("#sr-status-line")
        _shot(page, "shots-error")
        page.fill("#sr-f-length textarea, #sr-f-length input", "1 bars")
        page.click("#sr-update")
        page.wait_for_function(_has("#sr-status-line", "storyboard OK"))
        _shot(page, "shots")
        page.click("#sr-save")
        page.wait_for_function(_has("#sr-status-line", "saved"))
        saved = (project / "storyboard.yaml").read_text(encoding="utf-8")
        assert "# the song is chosen in the studio" in saved and "# opening" in saved
        assert "# tiny: the test decodes every frame" in saved
        assert "song: My_Song_final.wav" in saved and "    seed: 7\n" in saved

        # Preview: the whole song's animatic plays with the song
        page.get_by_role("tab", name="Preview").click()
        page.click("#sr-preview")
        page.wait_for_selector("#sr-preview-video")
        page.wait_for_function("document.querySelector('#sr-preview-video').readyState >= 1")
        duration = page.evaluate("document.querySelector('#sr-preview-video').duration")
        assert abs(duration - SONG_SECONDS) < 0.2
        _shot(page, "preview")

        # Generate: render everything; progress shows in the queue; reload the page meanwhile
        page.get_by_role("tab", name="Generate").click()
        mine = '.sr-job[data-title="render storyboard.yaml"]'
        page.click("#sr-render")
        page.wait_for_selector(mine)
        page.reload()
        page.get_by_role("tab", name="Generate").click()
        page.wait_for_selector(f"{mine}:not([data-status=queued]):not([data-status=running])")
        assert page.get_attribute(mine, "data-status") == "done", page.inner_text(mine)
        _shot(page, "generate")

        # Results: the video, the sync line, the downloads
        page.get_by_role("tab", name="Results").click()
        page.wait_for_function(_has("#sr-sync", "on the beat"))
        page.wait_for_selector("#sr-result-video video")
        downloads = page.inner_text("#sr-downloads")
        assert ".mp4" in downloads and ".otio" in downloads and ".png" in downloads
        _shot(page, "results")
        browser.close()

    out = sorted((project / "renders").glob("storyboard-*.mp4"))[-1]
    plan = songreel.plan(project / "storyboard.yaml")
    planned_cuts = [s.start for s in plan.shots[1:]]
    assert planned_cuts == [24, 48]                    # 1 bar, then 1 bar, then the rest, at 12 fps
    gray = decode_gray_small(out)
    assert len(gray) == plan.total_frames == round(SONG_SECONDS * FPS)
    found = cut_frames(gray)
    for c in planned_cuts:
        assert any(abs(f - c) <= 1 for f in found), (planned_cuts, found)
    assert abs(audio_seconds(out) - SONG_SECONDS) < 0.05


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (/usr/bin/chromium)")
def test_browser_draft_from_a_concept_then_preview(studio, song_file):
    """Draft: a sentence on the uploaded song fills the table with shots that fill the song; its preview plays."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    import songreel

    url, project, _port = studio
    before = set(project.glob("*.yaml"))
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(120_000)
        page.goto(url)
        page.wait_for_function(_has("#sr-status-line", "storyboard OK"))
        page.set_input_files("#sr-song-upload input[type=file]", str(song_file))
        page.fill("#sr-d-concept textarea, #sr-d-concept input", "a lighthouse keeper waits for a ship at night")
        page.fill("#sr-d-every textarea, #sr-d-every input", "1 bars")
        page.click("#sr-draft")
        # a fresh server's first analysis compiles librosa's numba kernels: allow for it
        page.wait_for_function(_has("#sr-d-note", "drafted"), timeout=300_000)
        note = page.inner_text("#sr-d-note")
        assert "draft-My_Song_final.yaml (offline): 5 shots" in note, note
        page.wait_for_function(_has("#sr-status-line", "storyboard OK: 5 shots"))
        page.wait_for_selector("#sr-grid img")
        _shot(page, "draft")
        page.get_by_role("tab", name="Shots").click()
        page.wait_for_selector('#sr-table [data-testid="cell-4-1"]')
        assert "lighthouse keeper" in page.inner_text('#sr-table [data-testid="cell-0-1"]')
        assert page.locator('#sr-table [data-testid="cell-5-1"]').count() == 0
        assert "lighthouse keeper" in page.inner_text("#sr-yaml")

        page.get_by_role("tab", name="Preview").click()
        page.click("#sr-preview")
        page.wait_for_selector("#sr-preview-video")
        page.wait_for_function("document.querySelector('#sr-preview-video').readyState >= 1")
        src = page.get_attribute("#sr-preview-video", "src")
        browser.close()

    written = set(project.glob("*.yaml")) - before
    assert [w.name for w in written if not w.name.startswith(".")] == ["draft-My_Song_final.yaml"]
    plan = songreel.plan(project / "draft-My_Song_final.yaml")
    # one shot a bar, back to back, the last to the song's end (12 fps: 24 frames a bar)
    assert [s.start for s in plan.shots] == [0, 24, 48, 72, 96]
    assert all(a.end == b.start for a, b in zip(plan.shots, plan.shots[1:]))
    assert plan.shots[-1].end == plan.total_frames == round(SONG_SECONDS * FPS)
    video = Path(src.split("file=", 1)[1].split("#", 1)[0])
    assert video.is_file() and project in video.parents
    gray = decode_gray_small(video)
    assert len(gray) == plan.total_frames
    found = cut_frames(gray)
    for c in (24, 48, 72, 96):
        assert any(abs(f - c) <= 1 for f in found), found
    assert abs(audio_seconds(video) - SONG_SECONDS) < 0.05

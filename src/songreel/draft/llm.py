"""Ask a language model for a draft through the OpenAI-compatible chat completions API.

The contract (OpenAI's API reference and the openai-python SDK types; Ollama, llama.cpp server, vLLM
and most hosted gateways speak it)::

    POST {base}/chat/completions            Authorization: Bearer KEY (only when a key is set)
    {"model": ..., "messages": [{"role": "system"|"user"|"assistant", "content": "..."}],
     "response_format": {"type": "json_schema",
                         "json_schema": {"name": ..., "description": ..., "schema": {...}, "strict": true}}}
    200 -> {"id", "object": "chat.completion", "created", "model",
            "choices": [{"index", "message": {"role": "assistant", "content": str|null,
                                              "refusal": str|null}, "finish_reason"}], "usage"}
    4xx/5xx -> {"error": {"message", "type", "param", "code"}}

Only text is sent: the concept, the lyrics and the song's structure (:func:`.structure.summary_text`).
The key is read by the caller from an environment variable and is never logged nor put in a message.

Exceptions::

    DraftError (GenerationError)     the server failed, or the model's answers did not fit the song
    MissingExtraError                httpx is not installed (pip install 'songreel[hosted]')
    InputError                       a malformed --llm URL
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Optional
from urllib.parse import urlsplit

from ..errors import GenerationError, InputError, MissingExtraError
from .answer import SCHEMA_NAME, DraftAnswer, answer_schema, parse_answer
from .check import fit
from .structure import SongStructure, bars_text, summary_text

log = logging.getLogger(__name__)

TIMEOUT_S = 300.0
"""Seconds to wait for one answer (a local model on a CPU writes a long storyboard slowly)."""
RETRY_STATUS = {429, 502, 503, 504}


class DraftError(GenerationError):
    """The language model could not produce a draft that fits the song."""


def shown_url(url: str) -> str:
    """``url`` as printed and written: without user:password and query (either may hold a secret)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{host}{parts.path}"


def endpoint(url: str) -> str:
    """The chat completions URL for a base URL (``http://localhost:11434/v1`` -> ``.../v1/chat/completions``).

    Raises
    ------
    InputError
        Not an http(s) URL.
    """
    text = str(url).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"--llm: got {text!r}, expected the server's base URL, e.g. http://localhost:11434/v1 "
                         "(Ollama), http://localhost:8080/v1 (llama.cpp, vLLM) or https://api.openai.com/v1")
    text = text.rstrip("/")
    return text if text.endswith("/chat/completions") else text + "/chat/completions"


SYSTEM = """\
You are a music video director writing a storyboard for songreel, which makes every shot with a \
text-to-video model and cuts on the song's beats. Answer with one JSON object that follows the JSON \
schema you were given.
Rules:
- Shots are in song order. Every section has at least one shot; a shot belongs to one section.
- The shots of a section add up to exactly that section's bars: a shot lasts `bars` whole bars plus \
`beats` extra beats (a bar has {meter} beats; keep beats 0 unless a cut must fall inside a bar).
- Cuts at section changes; within a section cut on the musical phrases.
- A prompt describes one continuous scene for a video model: subject, place, action, light, camera. \
No text on screen, no cuts inside a shot.
- Recurring characters are listed under characters and written {{name}} in prompts. If the story spans \
time, give each character a look per age or period under looks (names like her_teen, her_old) and use \
those names.
- transition is how a shot hands over to the next one; mostly "cut".
- lyric is the number of the lyric line sung during the shot, or null.\
"""


def messages(structure: SongStructure, *, concept: str, look: str = "cuts", style: Optional[str] = None,
             shots: Optional[int] = None, phrase: Optional[int] = None, cut_every: Optional[int] = None) -> list:
    """The conversation that asks for a draft (system rules + the song and the brief)."""
    m = structure.meter

    def beats_text(b: int) -> str:
        return bars_text(b // m) if b % m == 0 else f"{b} beats"

    brief = [f"Concept: {' '.join(concept.split())}"]
    if look == "infinite-zoom":
        brief.append("Look: one endless zoom. Each shot's scene is nested in the centre of the previous one and "
                     "the camera keeps pushing in, so write every scene so that the next can appear inside it "
                     "(a window, a picture, an eye, a screen...). Transitions are ignored in this look.")
    else:
        brief.append("Look: shots joined by cuts and transitions.")
    brief.append(f"Style: use exactly this style: {style}" if style else
                 "Style: choose one visual style for the whole video.")
    if shots:
        brief.append(f"Shots: exactly {shots} shots.")
    elif cut_every:
        brief.append(f"Shots: cut about every {beats_text(cut_every)}.")
    elif phrase:
        brief.append(f"Shots: about one shot per phrase of {beats_text(phrase)} "
                     f"(about {phrase / m * structure.bar_seconds:.0f} s).")
    return [{"role": "system", "content": SYSTEM.format(meter=m)},
            {"role": "user", "content": "\n".join(brief) + "\n\n" + summary_text(structure)}]


def request_body(model: str, conversation: list, schema: dict) -> dict:
    """The chat completions request: the conversation and the draft's JSON schema (strict)."""
    return {
        "model": model,
        "messages": conversation,
        "response_format": {"type": "json_schema", "json_schema": {
            "name": SCHEMA_NAME, "description": "A music video storyboard on the song's bar grid",
            "schema": schema, "strict": True}},
    }


@dataclass
class ChatClient:
    """One chat completions endpoint.

    Parameters
    ----------
    url : str
        Base URL (``.../v1``) or the full ``.../chat/completions`` URL.
    api_key : str, optional
        Sent as a bearer token; local servers need none.
    key_env : str
        The environment variable the key came from (named in messages, never the key itself).
    """

    url: str
    api_key: Optional[str] = field(default=None, repr=False)  # never in a repr, a log or a message
    key_env: str = "OPENAI_API_KEY"
    timeout: float = TIMEOUT_S
    retries: int = 2

    def __post_init__(self):
        self.endpoint = endpoint(self.url)
        self.shown = shown_url(self.endpoint)
        try:
            import httpx  # noqa: F401  (checked here so a missing extra fails before the song is analysed)
        except ImportError:
            raise MissingExtraError("hosted", "httpx", "songreel draft --llm") from None

    def complete(self, body: dict) -> tuple[Optional[str], str]:
        """POST one request; returns the first choice's ``(content, finish_reason)``.

        Raises
        ------
        DraftError
            Connection failure, an error status, a refusal or a response that is not a chat completion.
        """
        try:
            import httpx
        except ImportError:
            raise MissingExtraError("hosted", "httpx", "songreel draft --llm") from None
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        where = self.shown
        with httpx.Client(timeout=httpx.Timeout(self.timeout, connect=10.0)) as client:
            for attempt in range(self.retries + 1):
                try:
                    r = client.post(self.endpoint, content=data, headers=headers)
                except httpx.ConnectError as e:
                    if attempt < self.retries:
                        time.sleep(0.5 * 2 ** attempt)
                        continue
                    raise DraftError(f"--llm: cannot connect to {where} ({self._clean(e)}); is the server "
                                     "running and the URL right?") from None
                except httpx.TimeoutException:
                    raise DraftError(f"--llm: {where} did not answer within {self.timeout:.0f} s") from None
                except httpx.HTTPError as e:
                    raise DraftError(f"--llm: {where}: {self._clean(e)}") from None
                if r.status_code in RETRY_STATUS and attempt < self.retries:
                    time.sleep(_retry_after(r.headers.get("retry-after"), 0.5 * 2 ** attempt))
                    continue
                break
        if r.status_code != 200:
            raise DraftError(self._status_message(r))
        try:
            doc = r.json()
            choice = doc["choices"][0]
            message = choice["message"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise DraftError(f"--llm: {where} answered HTTP 200 with something that is not a chat completion "
                             f"(expected {{\"choices\": [{{\"message\": ...}}]}}): {self._clean(r.text)[:120]!r}"
                             ) from None
        if not isinstance(message, dict):
            raise DraftError(f"--llm: {where}: choices[0].message is not an object")
        refusal = message.get("refusal")
        if refusal:
            raise DraftError(f"--llm: the model refused: {self._clean(str(refusal))[:200]}")
        content = message.get("content")
        if content is not None and not isinstance(content, str):
            content = json.dumps(content)
        return content, str(choice.get("finish_reason") or "")

    def _status_message(self, r) -> str:
        detail = ""
        try:
            err = r.json()
            err = err.get("error", err) if isinstance(err, dict) else err
            detail = err.get("message", "") if isinstance(err, dict) else str(err)
        except ValueError:
            detail = r.text
        detail = " ".join(self._clean(str(detail)).split())[:200]
        msg = f"--llm: {self.shown} answered HTTP {r.status_code}" + (f": {detail}" if detail else "")
        if r.status_code in (401, 403):
            msg += (f" (the key is read from ${self.key_env}, which is not set)" if not self.api_key else
                    f" (check the key in ${self.key_env})")
        elif r.status_code == 404:
            msg += " (check --model and the URL: it should end in /v1)"
        return msg

    def _clean(self, value) -> str:
        """Text for a message, with the key removed should a server echo it."""
        text = str(value)
        if self.api_key:
            text = text.replace(self.api_key, "***")
        return text


@dataclass(frozen=True)
class Asked:
    """What asking the model produced."""

    answer: DraftAnswer
    notes: tuple[str, ...]
    calls: int


def ask_for_draft(client: ChatClient, model: str, structure: SongStructure, *, concept: str,
                  look: str = "cuts", style: Optional[str] = None, shots: Optional[int] = None,
                  phrase: Optional[int] = None, cut_every: Optional[int] = None,
                  report: Optional[Callable[[str], None]] = None) -> Asked:
    """Ask for a draft; check it against the song; re-ask once with the problems if it does not fit.

    Returns
    -------
    Asked
        A fitted answer (see :func:`songreel.draft.check.fit`) and notes on repairs and re-asks.

    Raises
    ------
    DraftError
        Both answers failed; the message gives the first problems of the second one.
    """
    say = report or (lambda text: None)
    schema = answer_schema([s.name for s in structure.sections], shots=shots, lyric_lines=len(structure.lyrics))
    conversation = messages(structure, concept=concept, look=look, style=style, shots=shots, phrase=phrase,
                            cut_every=cut_every)
    notes: list[str] = []
    problems: list[str] = []
    for attempt in (1, 2):
        log.info("draft: asking %s at %s (attempt %d)", model, client.shown, attempt)
        content, finish = client.complete(request_body(model, conversation, schema))
        answer, problems = parse_answer(content)
        if finish == "length":
            problems = ["the answer was cut off (finish_reason \"length\"); write shorter prompts"] + problems
            answer = None
        fitted, more, repaired = (fit(answer, structure, shots=shots) if answer is not None else (None, [], []))
        problems += more
        if fitted is not None and not problems:
            notes += repaired
            return Asked(fitted, tuple(notes), attempt)
        if attempt == 1:
            notes.append(f"the first answer did not fit the song ({len(problems)} problem"
                         f"{'s' if len(problems) != 1 else ''}: {problems[0]}); asked again")
            say(notes[-1])
            conversation = conversation + [
                {"role": "assistant", "content": content or ""},
                {"role": "user", "content": "That answer does not fit the song:\n" +
                 "\n".join(f"- {p}" for p in problems) +
                 "\nAnswer again with the whole corrected JSON object."}]
    shown = "; ".join(problems[:3]) + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")
    raise DraftError(f"--llm: {model} at {client.shown} gave two answers that do not fit the song; "
                     f"the second: {shown}. Try another model, or draft without --llm")


def _retry_after(value: Optional[str], default: float) -> float:
    try:
        return min(10.0, max(0.0, float(value))) if value else default
    except ValueError:
        return default

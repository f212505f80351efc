"""Where a diffusers model's weights come from: a preset, a local pipeline folder, or a hub id.

:func:`resolve` decides which, without network or torch; :class:`ModelSource` answers the questions
loading asks (the :class:`Profile`, the class in ``model_index.json``, whether every repo is in the
local Hugging Face cache) and turns a missing model into one line that says how to get it. A closed
network never costs the ~20 s of retries huggingface_hub would spend: :func:`hub_reachable` answers
in milliseconds.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from ..errors import InputError, MissingFileError, UnknownNameError, did_you_mean
from . import diffusers_presets as presets
from .diffusers_profiles import CLASS_PROFILES, WAN_FLF2V, Profile, profile_for_class

HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9][A-Za-z0-9_.\-]*$")
"""One rule for ``owner/name`` hub ids (shared with the outpaint backend)."""


def show(v: Any) -> str:
    """A value as messages quote it."""
    return f'"{v}"' if isinstance(v, str) else repr(v)


class ModelSource:
    """A resolved ``model`` option.

    Attributes
    ----------
    shown : str
        The model as the user wrote it (a preset's canonical name).
    preset : Preset, optional
    folder : Path, optional
        A local pipeline folder (``model_index.json`` inside).
    hub_id : str, optional
        The hub repository the pipeline loads from (a preset's, or the one given).
    field : str
        Where ``model`` stands in the storyboard, for messages.
    """

    def __init__(self, shown: str, *, field: str, preset=None, folder: Path | None = None,
                 hub_id: str | None = None, profile: Profile | None = None, base_class: str | None = None):
        self.shown, self.field = shown, field
        self.preset, self.folder, self.hub_id = preset, folder, hub_id
        self._profile, self._base_class = profile, base_class

    @property
    def profile(self) -> Profile:
        """How to drive the model (a hub id that is not a preset: read from its ``model_index.json``)."""
        if self._profile is None:
            repo = self._hub_repo()
            path = self.hub_file(repo, "model_index.json")
            return self._set_profile_from_index(json.loads(Path(path).read_text()), f"{repo}/model_index.json")
        return self._profile

    @property
    def base_class(self) -> str:
        """The pipeline class loaded from the weights (others are built over its components)."""
        self.profile  # noqa: B018 - reads model_index.json when needed
        if self._base_class is None:
            raise InputError(f"{self.field}: {show(self.shown)}: the weights name no pipeline class songreel can "
                             "load (neither text- nor image-to-video)")
        return self._base_class

    @property
    def location(self) -> str:
        """What ``from_pretrained`` is given: the folder, or the hub id."""
        return str(self.folder) if self.folder is not None else str(self.hub_id)

    def repos(self) -> tuple[str, ...]:
        return self.preset.repos() if self.preset else ((self.hub_id,) if self.hub_id else ())

    def _hub_repo(self) -> str:
        """The hub id (a folder source carries its profile from the start, so never asks)."""
        if self.hub_id is None:
            raise InputError(f"{self.field}: {show(self.shown)}: neither a preset, a model folder nor a hub id")
        return self.hub_id

    def _set_profile_from_index(self, doc: dict, where: str) -> Profile:
        cls = str(doc.get("_class_name", ""))
        prof = profile_for_class(cls, doc)
        if prof is None:
            raise InputError(f"{self.field}: {where}: pipeline class {show(cls)} is not a video pipeline "
                             f"songreel drives; accepted: {', '.join(CLASS_PROFILES)}")
        self._profile = prof
        routes = (prof.t2v, prof.i2v, prof.flf2v, prof.prefix, prof.reference)
        self._base_class = cls if cls in routes else (prof.t2v or prof.i2v)
        return prof

    # -- the hub --------------------------------------------------------------------------------------

    def missing(self, repo: str, err: BaseException | str) -> MissingFileError:
        """The one-line error for weights that are neither cached nor downloadable."""
        shown = self.preset.name if self.preset else repo
        why = str(err).strip().splitlines()[0][:120] if str(err).strip() else type(err).__name__
        return MissingFileError(
            f"{self.field}: {show(self.shown)}: hub repo {repo} is not in the local Hugging Face cache "
            f"and could not be downloaded ({why}); run `songreel models pull {shown}` where there is network "
            "(HF_HOME selects the cache), set HF_HUB_OFFLINE=1 to use only the cache, or give a local "
            "folder: model: /path/to/folder")

    def hub_file(self, repo: str, filename: str) -> str:
        """Path of one file of a hub repo: from the cache, else downloaded; a missing model is one line."""
        from huggingface_hub import hf_hub_download, try_to_load_from_cache

        cached = try_to_load_from_cache(repo, filename)
        if isinstance(cached, str):
            return cached
        if offline() or not hub_reachable():
            raise self.missing(repo, "offline" if offline() else "the hub cannot be reached")
        try:
            return hf_hub_download(repo, filename)
        except Exception as e:  # noqa: BLE001 - missing, gated, network: one clear line
            raise self.missing(repo, e) from None

    def local_only(self) -> bool:
        """Check every repo is cached or reachable — before the slow diffusers import.

        Returns True when loading must not touch the network (offline, or the hub unreachable and all
        repos cached).
        """
        if self.folder is not None:
            return False
        off = offline()
        for repo in self.repos():
            if not is_cached(repo):
                if off or not hub_reachable():
                    raise self.missing(repo, "offline (HF_HUB_OFFLINE)" if off else "the hub cannot be reached")
                return False
        return off or not hub_reachable()

    def has_subfolder(self, name: str) -> bool:
        """Whether the weights carry a ``name/`` part (LTX-2's ``latent_upsampler``)."""
        if self.folder is not None:
            return (self.folder / name / "config.json").exists()
        try:
            self.hub_file(self._hub_repo(), f"{name}/config.json")
            return True
        except MissingFileError:
            return False


def resolve(value: str, *, base_dir: Path, field: str) -> ModelSource:
    """A preset name, a local folder (relative to the storyboard, then the working directory) or a hub id.

    Raises
    ------
    UnknownNameError
        Neither a preset nor something shaped like a hub id or a path.
    MissingFileError
        A path that is not there.
    InputError
        A folder that is not a diffusers pipeline songreel drives.
    """
    value = value.strip()
    preset = presets.get(value)
    if preset is not None:
        prof = preset.profile
        return ModelSource(preset.name, field=field, preset=preset, hub_id=preset.hub_id, profile=prof,
                           base_class=prof.t2v or prof.i2v)
    expanded = Path(os.path.expanduser(value))
    candidates = [expanded] if expanded.is_absolute() else [base_dir / expanded, Path.cwd() / expanded]
    for c in candidates:
        if c.is_dir():
            return _folder(c.resolve(), value, field)
    looks_like_path = value.startswith((".", "/", "~")) or value.count("/") > 1 or "\\" in value
    if looks_like_path or not HUB_ID.match(value):
        if looks_like_path or "/" in value:
            where = " or ".join(str(c) for c in candidates)
            raise MissingFileError(f"{field}: got {show(value)}: no such folder ({where}); expected a preset "
                                   f"({', '.join(presets.PRESETS)}), a hub id owner/name, or a model folder")
        raise UnknownNameError(f"{field}: unknown model {show(value)}{did_you_mean(value.lower(), presets.PRESETS)}; "
                               f"accepted: {', '.join(presets.PRESETS)}, a hub id owner/name, or a local "
                               "folder (songreel models list)")
    return ModelSource(value, field=field, hub_id=value)


def _folder(folder: Path, shown: str, field: str) -> ModelSource:
    index = folder / "model_index.json"
    if not index.exists():
        raise InputError(f"{field}: {shown}: folder has no model_index.json; expected a diffusers pipeline folder "
                         "(save_pretrained / a hub snapshot)")
    try:
        doc = json.loads(index.read_text())
    except ValueError:
        raise InputError(f"{field}: {index}: model_index.json is not valid JSON") from None
    src = ModelSource(shown, field=field, folder=folder)
    prof = src._set_profile_from_index(doc, str(index))
    if prof.family == "wan" and prof.i2v and not prof.moe:
        # Wan 2.1 FLF2V weights carry a positional embedding for two images and need both
        try:
            tcfg = json.loads((folder / "transformer" / "config.json").read_text())
        except (OSError, ValueError):
            tcfg = {}
        if tcfg.get("pos_embed_seq_len") and not doc.get("expand_timesteps"):
            src._profile = WAN_FLF2V
    return src


# ---------------------------------------------------------------------------------------------------
# the network and the cache

_REACHABLE: dict = {}


def offline() -> bool:
    """HF_HUB_OFFLINE, as huggingface_hub reads it."""
    try:
        from huggingface_hub import constants

        return bool(constants.HF_HUB_OFFLINE)
    except Exception:  # noqa: BLE001
        return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def hub_reachable(timeout: float = 2.0) -> bool:
    """Whether the Hugging Face endpoint accepts a TCP connection within ``timeout`` s (cached per process).

    A closed network makes huggingface_hub retry for ~20 s; this answers in milliseconds (DNS failure)
    or ``timeout`` at most, run in a thread so a hanging resolver cannot block longer.
    """
    from urllib.parse import urlparse

    try:
        from huggingface_hub import constants

        endpoint = constants.ENDPOINT
    except Exception:  # noqa: BLE001
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    if endpoint in _REACHABLE:
        return _REACHABLE[endpoint]
    u = urlparse(endpoint)
    host, port = u.hostname or "huggingface.co", u.port or (443 if u.scheme == "https" else 80)
    ok = [False]

    def probe():
        import socket

        try:
            socket.create_connection((host, port), timeout=timeout).close()
            ok[0] = True
        except OSError:
            pass

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout + 0.5)
    _REACHABLE[endpoint] = ok[0]
    return ok[0]


def is_cached(repo: str) -> bool:
    """Whether a snapshot of hub repo ``repo`` is in the local cache (no network)."""
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(repo, local_files_only=True)
        return True
    except Exception:  # noqa: BLE001 - LocalEntryNotFoundError and friends
        return False

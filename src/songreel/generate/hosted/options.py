"""The options every hosted backend shares, as one typed model each provider extends.

A provider's ``Options`` subclasses :class:`HostedOptions` (adding its own fields and its default
``model``); ``HostedBackend.__init__`` validates the storyboard's mapping with
:func:`~songreel.generate.options.parse_options`, so a typo (``max_concurent``) gets a did-you-mean
and a wrong type (``max_concurrent: four``) one line naming the file, line and field. Keys are never
options: ``api_key``/``key``/``token``/``secret`` are refused with the variable to set instead.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Optional, Union

from pydantic import Field, field_validator

from ...errors import InputError
from ..options import BackendOptions

SECRET_OPTIONS = ("api_key", "key", "token", "secret")


class HostedOptions(BackendOptions):
    """Options shared by every hosted backend (see ``docs/backends/hosted.md``)."""

    model: str = Field("", description="the provider's model id")
    base_url: str = Field("", description="the API's origin (and version prefix where the provider has one)")
    api_key_env: str = Field("", description="the environment variable holding the key")
    max_concurrent: int = Field(2, ge=1, description="clips generated at once with this backend")
    poll_interval: float = Field(10.0, gt=0, description="seconds between status polls")
    timeout: float = Field(3600.0, gt=0, description="seconds one run waits for a job (it is kept and resumed)")
    request_timeout: float = Field(60.0, gt=0, description="seconds for one HTTP exchange")
    resubmit_unknown: bool = Field(
        False, description="permission to pay again when a lost submission cannot be resolved")
    lookup_grace: float = Field(20.0, ge=0, description="seconds to let a job list catch up before searching it")
    download_retries: int = Field(4, ge=0, description="a dropped or corrupt download is fetched again")
    retries: int = Field(6, ge=0, description="retries of a transient HTTP error")
    retry_base: float = Field(1.0, ge=0, description="backoff base (seconds)")
    retry_cap: float = Field(60.0, ge=0, description="longest single backoff (seconds)")
    retry_max_wait: float = Field(120.0, ge=0, description="longest retry-after honoured (seconds)")
    retry_budget: float = Field(600.0, ge=0, description="total seconds spent waiting on retries")
    fps: Optional[Union[int, float, str]] = Field(None, description="the rate the model's clips come at (default 24)")
    durations: Optional[list[int]] = Field(None, description="clip seconds of a model songreel does not know")
    sizes: Optional[list[tuple[int, int]]] = Field(None, description="[w, h] sizes of a model songreel does not know")
    first_frame: Optional[bool] = Field(None, description="whether a model songreel does not know takes a first frame")
    last_frame: Optional[bool] = Field(None, description="whether a model songreel does not know takes a last frame")
    price_per_second: Optional[float] = Field(None, ge=0, description="your price in US dollars, for the estimate")

    @field_validator("fps")
    @classmethod
    def _fps(cls, v):
        if v is None:
            return v
        try:
            f = Fraction(str(v))
        except (ValueError, ZeroDivisionError):
            raise ValueError(f'got "{v}", expected a frame rate such as 24 or 24000/1001') from None
        if f <= 0:
            raise ValueError(f"got {v}, expected a frame rate > 0")
        return str(f)


def refuse_keys(options: dict, *, backend: str, env: str, field: str) -> None:
    """Raise InputError when the storyboard carries a key: keys come from the environment only."""
    for name in SECRET_OPTIONS:
        if name in options:
            raise InputError(f"{field}.{name}: {backend} reads its key from the environment only "
                             f"(set {options.get('api_key_env') or env}); remove it from the storyboard")

"""The diffusers preset table: friendly model names → hub ids, pipeline classes and the facts songreel
plans around (native fps, frame rule, size rule, defaults, memory).

One table, read by :mod:`songreel.generate.diffusers_video` and ``songreel models``. Pure data: no
torch, no diffusers. Class names and call arguments were checked against diffusers 0.42.1; hub ids
against the diffusers docs (``docs/source/en/api/pipelines/{wan,ltx_video,cogvideox,framepack}.md``).

A model that is not a preset (a local folder or any hub id) gets a :class:`Profile` chosen by the
``_class_name`` in its ``model_index.json`` (:data:`CLASS_PROFILES`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Optional


@dataclass(frozen=True)
class Component:
    """A pipeline part that comes from another repository (FramePack's transformer and image encoder)."""

    name: str                 # pipeline component name (``transformer``)
    library: str              # "diffusers" or "transformers"
    class_name: str
    repo: str
    subfolder: Optional[str] = None


@dataclass(frozen=True)
class Profile:
    """How a family of pipelines is driven: which class does what, and its frame/size rules.

    Attributes
    ----------
    t2v, i2v, flf2v, prefix : str, optional
        Pipeline class names for text-to-video, image (first frame)-to-video, first+last frame, and
        video-prefix continuation. ``None`` = not supported on these weights. Several may name the
        same class (LTXConditionPipeline does all four). A class other than the one in
        ``model_index.json`` is built from the loaded one with ``from_pipe`` (same weights, no reload).
    fps : Fraction
        The rate the model was trained to produce.
    frame_multiple, frame_offset : int
        Legal frame counts ``multiple*k + offset``.
    min_frames, max_frames : int
    size_multiple : int
    sizes : tuple of (w, h)
        Non-empty when the model only works at fixed sizes (CogVideoX 1.0: 720x480).
    width, height, frames : int
        Defaults from the model authors.
    steps : int
    guidance : float
    call : tuple of (name, value)
        Extra pipeline call arguments the authors recommend (LTX distilled timesteps ...).
    vae_fp32 : bool
        Keep the VAE in float32 (Wan's docs do).
    image_required : bool
        The pipeline cannot start without an image (I2V-only weights).
    last_requires_first : bool
        Last-frame conditioning also needs a first frame (Wan FLF2V, FramePack).
    needs_last : bool
        The weights were trained for first+last only (Wan FLF2V): a request without a last frame fails.
    """

    family: str
    t2v: Optional[str]
    i2v: Optional[str]
    flf2v: Optional[str]
    prefix: Optional[str]
    fps: Fraction
    frame_multiple: int
    frame_offset: int
    size_multiple: int
    min_frames: int = 1
    max_frames: int = 81
    sizes: tuple = ()
    width: int = 832
    height: int = 480
    frames: int = 81
    steps: int = 50
    guidance: float = 5.0
    call: tuple = ()
    vae_fp32: bool = False
    image_required: bool = False
    last_requires_first: bool = True
    needs_last: bool = False


@dataclass(frozen=True)
class Preset:
    """A named model: where its weights live and how to drive it."""

    name: str
    hub_id: str
    profile: Profile
    summary: str
    vram: str                       # memory profile, as the authors state it
    speed: str                      # speed, as the authors state it
    source: str                     # which doc the figures come from
    components: tuple = ()          # Component, for pipelines assembled from several repos
    pairs_with: Optional[str] = None  # preset that continues its shots (documented, not automatic)

    def repos(self) -> tuple[str, ...]:
        """Every hub repository the preset downloads."""
        out = [self.hub_id]
        for c in self.components:
            if c.repo not in out:
                out.append(c.repo)
        return tuple(out)


# ---------------------------------------------------------------------------------------------------
# profiles by family

WAN_T2V = Profile(
    family="wan", t2v="WanPipeline", i2v=None, flf2v=None, prefix=None, fps=Fraction(16),
    frame_multiple=4, frame_offset=1, size_multiple=16, max_frames=81, width=832, height=480, frames=81,
    steps=50, guidance=5.0, vae_fp32=True)

WAN_I2V = Profile(
    family="wan", t2v=None, i2v="WanImageToVideoPipeline", flf2v=None, prefix=None, fps=Fraction(16),
    frame_multiple=4, frame_offset=1, size_multiple=16, max_frames=81, width=832, height=480, frames=81,
    steps=50, guidance=5.0, vae_fp32=True, image_required=True)

WAN_FLF2V = replace(WAN_I2V, flf2v="WanImageToVideoPipeline", width=1280, height=720, guidance=5.5,
                    needs_last=True)

# Wan 2.2 TI2V-5B: one transformer does text- and image-to-video (expand_timesteps); VAE 16x16x4,
# patch 2 → sizes on a 32 grid; 24 fps; last_image is ignored by this mode in diffusers 0.42.
WAN_TI2V = Profile(
    family="wan", t2v="WanPipeline", i2v="WanImageToVideoPipeline", flf2v=None, prefix=None,
    fps=Fraction(24), frame_multiple=4, frame_offset=1, size_multiple=32, max_frames=121, width=1280,
    height=704, frames=121, steps=50, guidance=5.0, vae_fp32=True)

# LTXConditionPipeline: text, image at any frame index, and video prefixes (8k+1 frames) in one class.
LTX_CONDITION = Profile(
    family="ltx", t2v="LTXConditionPipeline", i2v="LTXConditionPipeline", flf2v="LTXConditionPipeline",
    prefix="LTXConditionPipeline", fps=Fraction(24), frame_multiple=8, frame_offset=1, size_multiple=32,
    max_frames=257, width=768, height=512, frames=161, steps=40, guidance=3.0,
    call=(("decode_timestep", 0.05), ("image_cond_noise_scale", 0.025)), last_requires_first=False)

# 0.9.7/0.9.8 distilled: guidance 1.0 and the authors' 8-step timestep list (docs: ltx_video.md)
LTX_DISTILLED = replace(
    LTX_CONDITION, steps=8, guidance=1.0, width=832, height=480,
    call=(("timesteps", (1000, 993, 987, 981, 975, 909, 725, 0.03)), ("decode_timestep", 0.05),
          ("decode_noise_scale", 0.025), ("image_cond_noise_scale", 0.0), ("guidance_rescale", 0.7)))

# CogVideoX 1.0: 49 frames at 8 fps, 720x480 (the 5B I2V has learned positional embeddings)
COGVIDEOX_T2V = Profile(
    family="cogvideox", t2v="CogVideoXPipeline", i2v=None, flf2v=None, prefix=None, fps=Fraction(8),
    frame_multiple=4, frame_offset=1, size_multiple=16, min_frames=49, max_frames=49, sizes=((720, 480),),
    width=720, height=480, frames=49, steps=50, guidance=6.0)
COGVIDEOX_I2V = replace(COGVIDEOX_T2V, t2v=None, i2v="CogVideoXImageToVideoPipeline", image_required=True)

# FramePack (HunyuanVideo): image-to-video in 33-frame sections, 30 fps, optional last image
FRAMEPACK = Profile(
    family="hunyuan-framepack", t2v=None, i2v="HunyuanVideoFramepackPipeline",
    flf2v="HunyuanVideoFramepackPipeline", prefix=None, fps=Fraction(30), frame_multiple=4, frame_offset=1,
    size_multiple=16, max_frames=901, width=832, height=480, frames=91, steps=30, guidance=9.0,
    call=(("sampling_type", "inverted_anti_drifting"),), image_required=True)

HUNYUAN_T2V = Profile(
    family="hunyuan", t2v="HunyuanVideoPipeline", i2v=None, flf2v=None, prefix=None, fps=Fraction(24),
    frame_multiple=4, frame_offset=1, size_multiple=16, max_frames=129, width=1280, height=720, frames=129,
    steps=50, guidance=6.0)

# ---------------------------------------------------------------------------------------------------
# profiles for folders / hub ids that are not presets, by model_index.json ``_class_name``

CLASS_PROFILES: dict[str, Profile] = {
    "WanPipeline": WAN_T2V,
    "WanImageToVideoPipeline": WAN_I2V,
    "LTXConditionPipeline": LTX_CONDITION,
    "LTXPipeline": LTX_CONDITION,
    "LTXImageToVideoPipeline": LTX_CONDITION,
    "CogVideoXPipeline": COGVIDEOX_T2V,
    "CogVideoXImageToVideoPipeline": COGVIDEOX_I2V,
    "HunyuanVideoFramepackPipeline": FRAMEPACK,
    "HunyuanVideoPipeline": HUNYUAN_T2V,
}
"""``LTXPipeline`` / ``LTXImageToVideoPipeline`` folders hold the same components as
``LTXConditionPipeline``, which songreel uses for all LTX conditioning. A ``WanPipeline`` folder whose
``model_index.json`` sets ``expand_timesteps: true`` (Wan 2.2 TI2V) gets :data:`WAN_TI2V`; a Wan I2V
folder whose transformer has ``pos_embed_seq_len`` (FLF2V weights) gets :data:`WAN_FLF2V`."""


def profile_for_class(class_name: str, model_index: Optional[dict] = None) -> Optional[Profile]:
    """The profile for a pipeline class named in ``model_index.json`` (None if songreel cannot drive it)."""
    if class_name in ("WanPipeline", "WanImageToVideoPipeline") and model_index and model_index.get("expand_timesteps"):
        return WAN_TI2V
    return CLASS_PROFILES.get(class_name)


# ---------------------------------------------------------------------------------------------------
# the presets

PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset(
        "wan2.1-t2v-1.3b", "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", WAN_T2V,
        "Wan 2.1 text-to-video 1.3B, 480p, 16 fps; small and fast; no image conditioning",
        vram="8.19 GB (authors, with model offload)",
        speed="5 s of 480p in about 4 min on an RTX 4090, no optimisation (authors)",
        source="Wan2.1 README / model card (Wan-AI/Wan2.1-T2V-1.3B)",
        pairs_with=None),
    Preset(
        "wan2.1-i2v-14b-480p", "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers", WAN_I2V,
        "Wan 2.1 image-to-video 14B, 480p, 16 fps; needs a first frame (character image or chaining)",
        vram="14B: bf16 weights ~28.6 GB + umT5 ~11 GB; authors run it on one 80 GB GPU, or with model "
             "offload on less (use offload: group below 48 GB)",
        speed="authors' table: minutes per 5 s clip on one A100/H800; far slower with offload",
        source="Wan2.1 README (computational efficiency table); diffusers docs api/pipelines/wan.md"),
    Preset(
        "wan2.1-flf2v-14b", "Wan-AI/Wan2.1-FLF2V-14B-720P-diffusers", WAN_FLF2V,
        "Wan 2.1 first+last-frame-to-video 14B, 720p, 16 fps; needs both a first and a last frame",
        vram="as wan2.1-i2v-14b at 720p: plan for 80 GB, or offload: group / sequential",
        speed="authors: minutes per 5 s 720p clip on one 80 GB GPU",
        source="Wan2.1 README; diffusers docs api/pipelines/wan.md (FLF2V example, guidance 5.5)"),
    Preset(
        "wan2.2-ti2v-5b", "Wan-AI/Wan2.2-TI2V-5B-Diffusers", WAN_TI2V,
        "Wan 2.2 text+image-to-video 5B, 720p (1280x704), 24 fps; the same weights chain shots "
        "image-to-video, so long shots stay continuous",
        vram="24 GB (RTX 4090) with --offload_model True --convert_model_dtype --t5_cpu (authors); "
             "use offload: model here",
        speed="5 s of 720p in under 9 min on one consumer GPU such as an RTX 4090 (authors)",
        source="Wan2.2 README (Wan-Video/Wan2.2); diffusers docs api/pipelines/wan.md"),
    Preset(
        "ltx-video-0.9.8-distilled", "Lightricks/LTX-Video-0.9.8-13B-distilled", LTX_DISTILLED,
        "LTX-Video 0.9.8 13B distilled, 24 fps, 8 steps; text, image, last frame and video-prefix "
        "continuation in one pipeline",
        vram="13B bf16 weights ~26 GB + T5-XXL; the authors do not state a figure for the diffusers "
             "pipeline: use offload: model below 40 GB, vae_tiling on",
        speed="distilled to 8 steps (guidance 1.0): several times faster than the 40-step dev model",
        source="diffusers docs api/pipelines/ltx_video.md (0.9.8 distilled example); Lightricks/LTX-Video README"),
    Preset(
        "cogvideox-5b", "THUDM/CogVideoX-5b", COGVIDEOX_T2V,
        "CogVideoX 5B text-to-video, 720x480, 49 frames at 8 fps; no image conditioning "
        "(pair with cogvideox-5b-i2v by hand)",
        vram="5 GB bf16 with diffusers optimisations (sequential offload + VAE tiling), 26 GB without (authors)",
        speed="~180 s on one A100, ~90 s on one H100 for 50 steps (authors)",
        source="THUDM/CogVideoX-5b model card; diffusers docs api/pipelines/cogvideox.md",
        pairs_with="cogvideox-5b-i2v"),
    Preset(
        "cogvideox-5b-i2v", "THUDM/CogVideoX-5b-I2V", COGVIDEOX_I2V,
        "CogVideoX 5B image-to-video, 720x480, 49 frames at 8 fps; needs a first frame",
        vram="5 GB bf16 with diffusers optimisations, 26 GB without (authors)",
        speed="~180 s on one A100, ~90 s on one H100 for 50 steps (authors)",
        source="THUDM/CogVideoX-5b-I2V model card"),
    Preset(
        "hunyuanvideo-framepack", "hunyuanvideo-community/HunyuanVideo", FRAMEPACK,
        "FramePack (HunyuanVideo 13B) image-to-video, 30 fps, long clips in 33-frame sections; "
        "needs a first frame, optional last frame",
        vram="6 GB for a 1-minute 30 fps video with the authors' offloading (FramePack README)",
        speed="RTX 4090: 2.5 s/frame unoptimised, 1.5 s/frame with TeaCache (FramePack README)",
        source="lllyasviel/FramePack README; diffusers docs api/pipelines/framepack.md",
        components=(
            Component("transformer", "diffusers", "HunyuanVideoFramepackTransformer3DModel",
                      "lllyasviel/FramePackI2V_HY"),
            Component("feature_extractor", "transformers", "SiglipImageProcessor", "lllyasviel/flux_redux_bfl",
                      "feature_extractor"),
            Component("image_encoder", "transformers", "SiglipVisionModel", "lllyasviel/flux_redux_bfl",
                      "image_encoder"),
        )),
)}


def get(name: str) -> Optional[Preset]:
    """The preset called ``name`` (case-insensitive), or None."""
    return PRESETS.get(str(name).strip().lower())

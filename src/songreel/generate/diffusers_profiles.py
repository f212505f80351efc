"""How each family of diffusers video pipelines is driven: classes per conditioning route, frame and
size rules, native fps, authors' defaults.

Pure data, no torch or diffusers. Class names, call arguments and rules were read from the installed
diffusers 0.42.1 source; ``tests/test_diffusers_presets.py`` checks every class and call argument named
here against ``inspect.signature`` of the real classes, so a diffusers upgrade that renames one fails a
test instead of a render.

A model that is not a preset (a local folder or any hub id) gets a :class:`Profile` chosen by the
``_class_name`` in its ``model_index.json`` (:func:`profile_for_class`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction


@dataclass(frozen=True)
class Profile:
    """How a family of pipelines is driven: which class does what, and its frame/size rules.

    Attributes
    ----------
    family : str
        Selects the conditioning route builder (:mod:`songreel.generate.diffusers_routes`).
    t2v, i2v, flf2v, prefix, reference : str, optional
        Pipeline class for text-to-video, first frame, first+last frame, video-prefix continuation and
        reference images. ``None`` = not supported on these weights. Several may name the same class
        (``LTX2ConditionPipeline`` does all of them); a class other than the loaded one is built over the
        loaded components (same weights, no reload).
    keyframes : bool
        The route places images at any frame index (LTX, LTX-2, VACE): a last frame is a keyframe at
        the last index, so it needs no first frame.
    fps : Fraction
        The rate the model was trained to produce.
    frame_multiple, frame_offset : int
        Legal frame counts ``multiple*k + offset`` — counts the pipeline *returns*.
    min_frames, max_frames : int
    size_multiple : int
    sizes : tuple of (w, h)
        Non-empty when the model only works at fixed sizes (CogVideoX 1.0: 720x480).
    width, height, frames, steps, guidance
        The authors' defaults.
    call : tuple of (name, value)
        Extra call arguments the authors recommend (distilled timesteps, ``use_dynamic_cfg`` ...).
    frames_kw : str
        The call argument that takes the frame count (``frames`` for Sana-Video).
    guidance_kw : str, optional
        The call argument for CFG scale; ``None`` when a guider component carries it (HunyuanVideo 1.5).
    sized_by_image : bool
        The image route takes no ``height``/``width``: the pipeline sizes from the image.
    vae_fp32, image_encoder_fp32 : bool
        Keep these components in float32 (Wan's reference code does).
    image_required, last_requires_first, needs_last : bool
        I2V-only weights; last-frame conditioning also needs a first frame; FLF2V-only weights.
    two_stage : bool
        Generate at half size, upsample the latents x2 with the weights' ``latent_upsampler``, refine
        (LTX-2's recommended route). ``stage2_call``: the refine pass's arguments.
    returned : str
        ``"asked"``: the pipeline returns the frames asked for; ``"framepack"``: FramePack returns
        ``36*ceil(n/33)+1`` for ``n`` asked (so songreel asks ``33k`` to get ``36k+1``).
    moe : bool
        Two transformers (Wan 2.2 A14B: high-noise ``transformer``, low-noise ``transformer_2``).
    """

    family: str
    t2v: str | None
    i2v: str | None
    flf2v: str | None
    prefix: str | None
    fps: Fraction
    frame_multiple: int
    frame_offset: int
    size_multiple: int
    reference: str | None = None
    keyframes: bool = False
    min_frames: int = 1
    max_frames: int = 81
    sizes: tuple = ()
    width: int = 832
    height: int = 480
    frames: int = 81
    steps: int = 50
    guidance: float = 5.0
    call: tuple = ()
    frames_kw: str = "num_frames"
    guidance_kw: str | None = "guidance_scale"
    sized_by_image: bool = False
    vae_fp32: bool = False
    image_encoder_fp32: bool = False
    image_required: bool = False
    last_requires_first: bool = True
    needs_last: bool = False
    two_stage: bool = False
    stage2_call: tuple = ()
    returned: str = "asked"
    moe: bool = False

    def routes(self) -> tuple[str, ...]:
        """Names of the conditioning routes these weights support, for listings and messages."""
        out = [n for n, c in (("text", self.t2v), ("first frame", self.i2v and not self.needs_last),
                              ("first+last frame" if self.needs_last else "last frame", self.flf2v),
                              ("video prefix", self.prefix), ("reference images", self.reference)) if c]
        if self.keyframes:
            out.append("keyframes at an index")
        return tuple(out)


# ---------------------------------------------------------------------------------------------------
# Wan 2.1 / 2.2 (16 fps, 4k+1, VAE 8x8x4 with patch 2 → sizes on a 16 grid)

WAN_T2V = Profile(
    family="wan", t2v="WanPipeline", i2v=None, flf2v=None, prefix=None, fps=Fraction(16),
    frame_multiple=4, frame_offset=1, size_multiple=16, max_frames=81, width=832, height=480, frames=81,
    steps=50, guidance=5.0, vae_fp32=True)

# Wan 2.1 I2V: the CLIP image encoder stays float32 (the reference loads it so; diffusers docs too)
WAN_I2V = Profile(
    family="wan", t2v=None, i2v="WanImageToVideoPipeline", flf2v=None, prefix=None, fps=Fraction(16),
    frame_multiple=4, frame_offset=1, size_multiple=16, max_frames=81, width=832, height=480, frames=81,
    steps=50, guidance=5.0, vae_fp32=True, image_encoder_fp32=True, image_required=True)

WAN_FLF2V = replace(WAN_I2V, flf2v="WanImageToVideoPipeline", width=1280, height=720, guidance=5.5,
                    needs_last=True)

# Wan 2.2 TI2V-5B: one transformer does text- and image-to-video (expand_timesteps); VAE 16x16x4,
# patch 2 → sizes on a 32 grid; 24 fps; last_image is ignored by this mode in diffusers 0.42.
WAN_TI2V = Profile(
    family="wan", t2v="WanPipeline", i2v="WanImageToVideoPipeline", flf2v=None, prefix=None,
    fps=Fraction(24), frame_multiple=4, frame_offset=1, size_multiple=32, max_frames=121, width=1280,
    height=704, frames=121, steps=50, guidance=5.0, vae_fp32=True)

# Wan 2.2 A14B: two 14B experts split at boundary_ratio (in model_index.json); guidance_scale_2 for the
# low-noise expert. T2V: 4.0 / 3.0, I2V: 3.5 / 3.5, 40 steps (Wan2.2 README, diffusers wan.md).
WAN22_T2V_A14B = replace(WAN_T2V, width=1280, height=720, steps=40, guidance=4.0,
                         call=(("guidance_scale_2", 3.0),), moe=True)
WAN22_I2V_A14B = replace(WAN_I2V, width=1280, height=720, steps=40, guidance=3.5,
                         call=(("guidance_scale_2", 3.5),), flf2v="WanImageToVideoPipeline",
                         image_encoder_fp32=False, moe=True)
"""Wan 2.2 I2V-A14B has no CLIP image encoder; ``last_image`` works (first+last frame)."""

# Wan VACE: one class for text, reference images, and frames at any index (first, last, keyframes,
# a video prefix) given as a control video plus a mask (white = generate, black = keep).
WAN_VACE = Profile(
    family="wan-vace", t2v="WanVACEPipeline", i2v="WanVACEPipeline", flf2v="WanVACEPipeline",
    prefix="WanVACEPipeline", reference="WanVACEPipeline", keyframes=True, fps=Fraction(16),
    frame_multiple=4, frame_offset=1, size_multiple=16, max_frames=81, width=832, height=480, frames=81,
    steps=30, guidance=5.0, vae_fp32=True, last_requires_first=False)

# ---------------------------------------------------------------------------------------------------
# LTX-Video 0.9 and LTX-2 (24 fps, 8k+1, sizes on a 32 grid)

# LTXConditionPipeline: text, image at any frame index, and video prefixes (8k+1 frames) in one class.
LTX_CONDITION = Profile(
    family="ltx", t2v="LTXConditionPipeline", i2v="LTXConditionPipeline", flf2v="LTXConditionPipeline",
    prefix="LTXConditionPipeline", keyframes=True, fps=Fraction(24), frame_multiple=8, frame_offset=1,
    size_multiple=32, max_frames=257, width=768, height=512, frames=161, steps=40, guidance=3.0,
    call=(("decode_timestep", 0.05), ("image_cond_noise_scale", 0.025)), last_requires_first=False)

# 0.9.7/0.9.8 distilled: guidance 1.0 and the authors' 8-step timestep list (docs: ltx_video.md)
LTX_DISTILLED = replace(
    LTX_CONDITION, steps=8, guidance=1.0, width=832, height=480,
    call=(("timesteps", (1000, 993, 987, 981, 975, 909, 725, 0.03)), ("decode_timestep", 0.05),
          ("decode_noise_scale", 0.025), ("image_cond_noise_scale", 0.0), ("guidance_rescale", 0.7)))

# LTX-2: video with audio in one model; LTX2ConditionPipeline takes images and clips at any index.
# Two stages by default: half size, latent upsample x2, a 3-step refine on STAGE_2_DISTILLED sigmas
# (docs: ltx2.md). The refine pass needs the distilled weights: the dev checkpoint loads the authors'
# distilled LoRA for it (Preset.stage2_lora); a folder without an upsampler runs one stage.
_LTX2_STAGE2 = (("sigmas", (0.909375, 0.725, 0.421875)), ("noise_scale", 0.909375), ("guidance_scale", 1.0))
LTX2 = Profile(
    family="ltx2", t2v="LTX2ConditionPipeline", i2v="LTX2ConditionPipeline", flf2v="LTX2ConditionPipeline",
    prefix="LTX2ConditionPipeline", keyframes=True, fps=Fraction(24), frame_multiple=8, frame_offset=1,
    size_multiple=64, max_frames=257, width=1536, height=1024, frames=121, steps=30, guidance=3.0,
    last_requires_first=False, two_stage=True, stage2_call=_LTX2_STAGE2)
LTX2_DISTILLED = replace(
    LTX2, steps=8, guidance=1.0,
    call=(("sigmas", (1.0, 0.99375, 0.9875, 0.98125, 0.975, 0.909375, 0.725, 0.421875)),))

# ---------------------------------------------------------------------------------------------------
# CogVideoX 1.0: 49 frames at 8 fps, 720x480; dynamic CFG as in the authors' examples

COGVIDEOX_T2V = Profile(
    family="cogvideox", t2v="CogVideoXPipeline", i2v=None, flf2v=None, prefix=None, fps=Fraction(8),
    frame_multiple=4, frame_offset=1, size_multiple=16, min_frames=49, max_frames=49, sizes=((720, 480),),
    width=720, height=480, frames=49, steps=50, guidance=6.0, call=(("use_dynamic_cfg", True),))
COGVIDEOX_I2V = replace(COGVIDEOX_T2V, t2v=None, i2v="CogVideoXImageToVideoPipeline", image_required=True)

# ---------------------------------------------------------------------------------------------------
# Hunyuan family

# FramePack (HunyuanVideo 13B): image-to-video in sections of 33 asked frames, 30 fps, optional last
# image. Returns 36*ceil(n/33)+1 frames for n asked: the legal counts are 36k+1 (asked as 33k).
FRAMEPACK = Profile(
    family="hunyuan-framepack", t2v=None, i2v="HunyuanVideoFramepackPipeline",
    flf2v="HunyuanVideoFramepackPipeline", prefix=None, fps=Fraction(30), frame_multiple=36, frame_offset=1,
    size_multiple=16, min_frames=37, max_frames=901, width=832, height=480, frames=109, steps=30,
    guidance=9.0, call=(("sampling_type", "inverted_anti_drifting"),), image_required=True,
    returned="framepack")

HUNYUAN_T2V = Profile(
    family="hunyuan", t2v="HunyuanVideoPipeline", i2v=None, flf2v=None, prefix=None, fps=Fraction(24),
    frame_multiple=4, frame_offset=1, size_multiple=16, max_frames=129, width=1280, height=720, frames=129,
    steps=50, guidance=6.0)

# HunyuanVideo 1.5 (8.3B): CFG lives in the ``guider`` component; the I2V class sizes from the image.
HUNYUAN15_T2V = Profile(
    family="hunyuan15", t2v="HunyuanVideo15Pipeline", i2v=None, flf2v=None, prefix=None, fps=Fraction(24),
    frame_multiple=4, frame_offset=1, size_multiple=16, max_frames=121, width=848, height=480, frames=121,
    steps=50, guidance=6.0, guidance_kw=None)
HUNYUAN15_I2V = replace(HUNYUAN15_T2V, t2v=None, i2v="HunyuanVideo15ImageToVideoPipeline", image_required=True,
                        sized_by_image=True)

# ---------------------------------------------------------------------------------------------------
# SkyReels-V2 diffusion forcing (Wan architecture, 24 fps): text, first (and last) frame, and
# continuation of a video of any length (overlap_history frames of the prefix are re-made).

SKYREELS_V2_DF = Profile(
    family="skyreels-v2-df", t2v="SkyReelsV2DiffusionForcingPipeline",
    i2v="SkyReelsV2DiffusionForcingImageToVideoPipeline", flf2v="SkyReelsV2DiffusionForcingImageToVideoPipeline",
    prefix="SkyReelsV2DiffusionForcingVideoToVideoPipeline", fps=Fraction(24), frame_multiple=4, frame_offset=1,
    size_multiple=16, max_frames=257, width=960, height=544, frames=97, steps=30, guidance=6.0,
    call=(("addnoise_condition", 20),), vae_fp32=True)

# ---------------------------------------------------------------------------------------------------
# Sana-Video 2B (linear attention, fast) and Kandinsky 5.0 Video Lite

SANA_VIDEO = Profile(
    family="sana-video", t2v="SanaVideoPipeline", i2v=None, flf2v=None, prefix=None, fps=Fraction(16),
    frame_multiple=4, frame_offset=1, size_multiple=32, max_frames=81, width=832, height=480, frames=81,
    steps=50, guidance=6.0, frames_kw="frames", vae_fp32=True, call=(("use_resolution_binning", False),))

KANDINSKY5_T2V = Profile(
    family="kandinsky5", t2v="Kandinsky5T2VPipeline", i2v=None, flf2v=None, prefix=None, fps=Fraction(24),
    frame_multiple=4, frame_offset=1, size_multiple=16, max_frames=241, width=768, height=512, frames=121,
    steps=50, guidance=5.0)

# ---------------------------------------------------------------------------------------------------
# profiles for folders / hub ids that are not presets, by model_index.json ``_class_name``

CLASS_PROFILES: dict[str, Profile] = {
    "WanPipeline": WAN_T2V,
    "WanImageToVideoPipeline": WAN_I2V,
    "WanVACEPipeline": WAN_VACE,
    "LTXConditionPipeline": LTX_CONDITION,
    "LTXPipeline": LTX_CONDITION,
    "LTXImageToVideoPipeline": LTX_CONDITION,
    "LTX2ConditionPipeline": LTX2,
    "LTX2Pipeline": LTX2,
    "LTX2ImageToVideoPipeline": LTX2,
    "CogVideoXPipeline": COGVIDEOX_T2V,
    "CogVideoXImageToVideoPipeline": COGVIDEOX_I2V,
    "HunyuanVideoFramepackPipeline": FRAMEPACK,
    "HunyuanVideoPipeline": HUNYUAN_T2V,
    "HunyuanVideo15Pipeline": HUNYUAN15_T2V,
    "HunyuanVideo15ImageToVideoPipeline": HUNYUAN15_I2V,
    "SkyReelsV2DiffusionForcingPipeline": SKYREELS_V2_DF,
    "SkyReelsV2DiffusionForcingImageToVideoPipeline": SKYREELS_V2_DF,
    "SkyReelsV2DiffusionForcingVideoToVideoPipeline": SKYREELS_V2_DF,
    "SanaVideoPipeline": SANA_VIDEO,
    "Kandinsky5T2VPipeline": KANDINSKY5_T2V,
}
"""``LTXPipeline`` / ``LTXImageToVideoPipeline`` folders hold the same components as
``LTXConditionPipeline``, which songreel uses for all LTX conditioning (likewise LTX-2). A ``WanPipeline``
folder whose ``model_index.json`` sets ``expand_timesteps: true`` gets :data:`WAN_TI2V`, one with a
``transformer_2`` gets the A14B profile; a Wan I2V folder whose transformer has ``pos_embed_seq_len``
(FLF2V weights) gets :data:`WAN_FLF2V` (decided by the loader, which reads that config)."""


def profile_for_class(class_name: str, model_index: dict | None = None) -> Profile | None:
    """The profile for a pipeline class named in ``model_index.json`` (None if songreel cannot drive it)."""
    doc = model_index or {}
    if class_name in ("WanPipeline", "WanImageToVideoPipeline"):
        if doc.get("expand_timesteps"):
            return WAN_TI2V
        two = doc.get("transformer_2")
        if isinstance(two, (list, tuple)) and two and two[0]:
            return WAN22_T2V_A14B if class_name == "WanPipeline" else WAN22_I2V_A14B
    return CLASS_PROFILES.get(class_name)

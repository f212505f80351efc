"""The diffusers preset table: friendly model names → hub ids, the :class:`Profile` that drives them,
and what they cost (parameters, memory, speed as the authors state it).

One table, read by :mod:`songreel.generate.diffusers_video`, ``songreel models`` and ``songreel doctor``.
Pure data: no torch, no diffusers. Hub ids were checked against the examples in the installed diffusers
0.42.1 pipelines and its docs (``docs/source/en/api/pipelines/*.md``); profiles live in
:mod:`songreel.generate.diffusers_profiles`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .diffusers_profiles import (  # noqa: F401 - re-exported: one import for the table and its profiles
    CLASS_PROFILES,
    COGVIDEOX_I2V,
    COGVIDEOX_T2V,
    FRAMEPACK,
    HUNYUAN15_I2V,
    HUNYUAN15_T2V,
    HUNYUAN_T2V,
    KANDINSKY5_T2V,
    LTX2,
    LTX2_DISTILLED,
    LTX_CONDITION,
    LTX_DISTILLED,
    SANA_VIDEO,
    SKYREELS_V2_DF,
    WAN22_I2V_A14B,
    WAN22_T2V_A14B,
    WAN_FLF2V,
    WAN_I2V,
    WAN_T2V,
    WAN_TI2V,
    WAN_VACE,
    Profile,
    profile_for_class,
)


@dataclass(frozen=True)
class Component:
    """A pipeline part that comes from another repository (FramePack's transformer and image encoder)."""

    name: str                 # pipeline component name (``transformer``)
    library: str              # "diffusers" or "transformers"
    class_name: str
    repo: str
    subfolder: str | None = None


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
    pairs_with: str | None = None  # preset that continues its shots (documented, not automatic)
    weights: tuple = ()             # (component, billions of parameters) — for the memory estimate
    stage2_lora: tuple | None = None  # (repo, weight file) of the distilled LoRA for the refine pass

    def repos(self) -> tuple[str, ...]:
        """Every hub repository the preset downloads."""
        out = [self.hub_id]
        for c in self.components:
            if c.repo not in out:
                out.append(c.repo)
        return tuple(out)


# ---------------------------------------------------------------------------------------------------
# the presets

PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset(
        "wan2.1-t2v-1.3b", "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", WAN_T2V,
        "Wan 2.1 text-to-video 1.3B, 480p, 16 fps; small and fast; no image conditioning",
        vram="8.19 GB (authors, with model offload)",
        speed="5 s of 480p in about 4 min on an RTX 4090, no optimisation (authors)",
        source="Wan2.1 README / model card (Wan-AI/Wan2.1-T2V-1.3B)",
        pairs_with=None,
        weights=(("transformer", 1.3), ("text_encoder umT5-XXL", 5.7), ("vae", 0.13)),),
    Preset(
        "wan2.1-i2v-14b-480p", "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers", WAN_I2V,
        "Wan 2.1 image-to-video 14B, 480p, 16 fps; needs a first frame (character image or chaining)",
        vram="14B: bf16 weights ~28.6 GB + umT5 ~11 GB; authors run it on one 80 GB GPU, or with model "
             "offload on less (use offload: group below 48 GB)",
        speed="authors' table: minutes per 5 s clip on one A100/H800; far slower with offload",
        source="Wan2.1 README (computational efficiency table); diffusers docs api/pipelines/wan.md",
        weights=(("transformer", 14.0), ("text_encoder umT5-XXL", 5.7), ("image_encoder CLIP-H (fp32)", 0.63),
                 ("vae", 0.13)),),
    Preset(
        "wan2.1-flf2v-14b", "Wan-AI/Wan2.1-FLF2V-14B-720P-diffusers", WAN_FLF2V,
        "Wan 2.1 first+last-frame-to-video 14B, 720p, 16 fps; needs both a first and a last frame",
        vram="as wan2.1-i2v-14b at 720p: plan for 80 GB, or offload: group / sequential",
        speed="authors: minutes per 5 s 720p clip on one 80 GB GPU",
        source="Wan2.1 README; diffusers docs api/pipelines/wan.md (FLF2V example, guidance 5.5)",
        weights=(("transformer", 14.0), ("text_encoder umT5-XXL", 5.7), ("image_encoder CLIP-H (fp32)", 0.63),
                 ("vae", 0.13)),),
    Preset(
        "wan2.2-ti2v-5b", "Wan-AI/Wan2.2-TI2V-5B-Diffusers", WAN_TI2V,
        "Wan 2.2 text+image-to-video 5B, 720p (1280x704), 24 fps; the same weights chain shots "
        "image-to-video, so long shots stay continuous",
        vram="24 GB (RTX 4090) with --offload_model True --convert_model_dtype --t5_cpu (authors); "
             "use offload: model here",
        speed="5 s of 720p in under 9 min on one consumer GPU such as an RTX 4090 (authors)",
        source="Wan2.2 README (Wan-Video/Wan2.2); diffusers docs api/pipelines/wan.md",
        weights=(("transformer", 5.0), ("text_encoder umT5-XXL", 5.7), ("vae", 0.7)),),
    Preset(
        "ltx-video-0.9.8-distilled", "Lightricks/LTX-Video-0.9.8-13B-distilled", LTX_DISTILLED,
        "LTX-Video 0.9.8 13B distilled, 24 fps, 8 steps; text, image, last frame and video-prefix "
        "continuation in one pipeline",
        vram="13B bf16 weights ~26 GB + T5-XXL; the authors do not state a figure for the diffusers "
             "pipeline: use offload: model below 40 GB, vae_tiling on",
        speed="distilled to 8 steps (guidance 1.0): several times faster than the 40-step dev model",
        source="diffusers docs api/pipelines/ltx_video.md (0.9.8 distilled example); Lightricks/LTX-Video README",
        weights=(("transformer", 13.0), ("text_encoder T5-XXL", 4.8), ("vae", 0.5)),),
    Preset(
        "cogvideox-5b", "zai-org/CogVideoX-5b", COGVIDEOX_T2V,
        "CogVideoX 5B text-to-video, 720x480, 49 frames at 8 fps; no image conditioning "
        "(pair with cogvideox-5b-i2v by hand)",
        vram="5 GB bf16 with diffusers optimisations (sequential offload + VAE tiling), 26 GB without (authors)",
        speed="~180 s on one A100, ~90 s on one H100 for 50 steps (authors)",
        source="zai-org/CogVideoX-5b model card (formerly THUDM/); diffusers docs api/pipelines/cogvideox.md",
        pairs_with="cogvideox-5b-i2v",
        weights=(("transformer", 5.6), ("text_encoder T5-XXL", 4.8), ("vae", 0.2)),),
    Preset(
        "cogvideox-5b-i2v", "zai-org/CogVideoX-5b-I2V", COGVIDEOX_I2V,
        "CogVideoX 5B image-to-video, 720x480, 49 frames at 8 fps; needs a first frame",
        vram="5 GB bf16 with diffusers optimisations, 26 GB without (authors)",
        speed="~180 s on one A100, ~90 s on one H100 for 50 steps (authors)",
        source="zai-org/CogVideoX-5b-I2V model card (formerly THUDM/)",
        weights=(("transformer", 5.6), ("text_encoder T5-XXL", 4.8), ("vae", 0.2)),),
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
        ),
        weights=(("transformer", 13.0), ("text_encoder Llama-3-8B", 7.5), ("text_encoder_2 CLIP-L", 0.12),
                 ("image_encoder SigLIP", 0.43), ("vae", 0.25)),),
    Preset(
        "wan2.2-t2v-a14b", "Wan-AI/Wan2.2-T2V-A14B-Diffusers", WAN22_T2V_A14B,
        "Wan 2.2 text-to-video A14B (two 14B experts), 720p, 16 fps; the strongest open text-to-video "
        "of its generation; no image conditioning (pair with wan2.2-i2v-a14b)",
        vram="one expert runs at a time: ~28.6 GB bf16 per expert + umT5 ~11 GB; authors: 80 GB GPU, or "
             "--offload_model on 24+ GB; here offload: model (one expert on the GPU) or group",
        speed="authors' table: minutes per 5 s 720p clip on one H20/H800 80 GB",
        source="Wan2.2 README (Wan-Video/Wan2.2); diffusers docs api/pipelines/wan.md",
        pairs_with="wan2.2-i2v-a14b",
        weights=(("transformer (high noise)", 14.0), ("transformer_2 (low noise)", 14.0),
                 ("text_encoder umT5-XXL", 5.7), ("vae", 0.13))),
    Preset(
        "wan2.2-i2v-a14b", "Wan-AI/Wan2.2-I2V-A14B-Diffusers", WAN22_I2V_A14B,
        "Wan 2.2 image-to-video A14B, 720p, 16 fps; needs a first frame, takes a last frame",
        vram="as wan2.2-t2v-a14b",
        speed="as wan2.2-t2v-a14b",
        source="Wan2.2 README; diffusers docs api/pipelines/wan.md",
        weights=(("transformer (high noise)", 14.0), ("transformer_2 (low noise)", 14.0),
                 ("text_encoder umT5-XXL", 5.7), ("vae", 0.13))),
    Preset(
        "wan2.1-vace-14b", "Wan-AI/Wan2.1-VACE-14B-diffusers", replace(WAN_VACE, width=1280, height=720),
        "Wan 2.1 VACE 14B, 720p, 16 fps; text, reference images (the same lead in every shot), first / "
        "last / keyframes at any index and video-prefix continuation in one pipeline",
        vram="14B bf16 ~28.6 GB + umT5 ~11 GB: 80 GB GPU, or offload: model / group",
        speed="as Wan 2.1 14B",
        source="Wan2.1 README (VACE); installed WanVACEPipeline example",
        weights=(("transformer", 14.0), ("vace blocks", 3.0), ("text_encoder umT5-XXL", 5.7), ("vae", 0.13))),
    Preset(
        "wan2.1-vace-1.3b", "Wan-AI/Wan2.1-VACE-1.3B-diffusers", WAN_VACE,
        "Wan 2.1 VACE 1.3B, 480p, 16 fps; the small VACE: reference images, keyframes, continuation",
        vram="~8 GB with offload: model (as Wan 2.1 1.3B plus the VACE blocks)",
        speed="as wan2.1-t2v-1.3b",
        source="Wan2.1 README (VACE); installed WanVACEPipeline example",
        weights=(("transformer", 1.3), ("vace blocks", 0.7), ("text_encoder umT5-XXL", 5.7), ("vae", 0.13))),
    Preset(
        "ltx-2", "Lightricks/LTX-2", LTX2,
        "LTX-2 19B, video with its own audio, 24 fps; two stages by default (half size, latent upsample "
        "x2, 3-step distilled-LoRA refine); text, first/last frame, keyframes at any index, video prefix",
        vram="19B bf16 ~38 GB + Gemma 3 12B ~24 GB: 80 GB GPU, or offload: model / sequential (the "
             "authors' examples use sequential offload)",
        speed="authors: real-time-class on H100 for the distilled model; the dev model runs 30 steps",
        source="diffusers docs api/pipelines/ltx2.md (two-stage example); Lightricks/LTX-2 model card",
        stage2_lora=("Lightricks/LTX-2", "ltx-2-19b-distilled-lora-384.safetensors"),
        weights=(("transformer (video+audio)", 19.0), ("text_encoder Gemma-3-12B", 12.2), ("vae", 0.5),
                 ("audio_vae + vocoder", 0.1), ("latent_upsampler", 0.1))),
    Preset(
        "ltx-2-distilled", "rootonchair/LTX-2-19b-distilled", LTX2_DISTILLED,
        "LTX-2 19B distilled: 8 steps at guidance 1, then upsample and a 3-step refine; the fast LTX-2",
        vram="as ltx-2",
        speed="8 + 3 steps instead of 30 + 3: several times faster than ltx-2",
        source="diffusers docs api/pipelines/ltx2.md (distilled checkpoint example)",
        weights=(("transformer (video+audio)", 19.0), ("text_encoder Gemma-3-12B", 12.2), ("vae", 0.5),
                 ("audio_vae + vocoder", 0.1), ("latent_upsampler", 0.1))),
    Preset(
        "hunyuanvideo-1.5-480p", "hunyuanvideo-community/HunyuanVideo-1.5-480p_t2v", HUNYUAN15_T2V,
        "HunyuanVideo 1.5 8.3B text-to-video, 480p, 24 fps (pair with hunyuanvideo-1.5-480p-i2v)",
        vram="authors: 14 GB with model offload; 8.3B bf16 ~17 GB + Qwen2.5-VL-7B ~16 GB without",
        speed="authors: step-distilled and sparse-attention variants for speed; 50 steps here",
        source="Tencent-Hunyuan/HunyuanVideo-1.5 README; installed HunyuanVideo15Pipeline example",
        pairs_with="hunyuanvideo-1.5-480p-i2v",
        weights=(("transformer", 8.3), ("text_encoder Qwen2.5-VL-7B", 8.3), ("text_encoder_2 ByT5", 0.2),
                 ("vae", 0.3))),
    Preset(
        "hunyuanvideo-1.5-480p-i2v", "hunyuanvideo-community/HunyuanVideo-1.5-480p_i2v", HUNYUAN15_I2V,
        "HunyuanVideo 1.5 8.3B image-to-video, 480p, 24 fps; needs a first frame",
        vram="as hunyuanvideo-1.5-480p, plus SigLIP",
        speed="as hunyuanvideo-1.5-480p",
        source="installed HunyuanVideo15ImageToVideoPipeline example",
        weights=(("transformer", 8.3), ("text_encoder Qwen2.5-VL-7B", 8.3), ("text_encoder_2 ByT5", 0.2),
                 ("image_encoder SigLIP", 0.4), ("vae", 0.3))),
    Preset(
        "skyreels-v2-df-1.3b-540p", "Skywork/SkyReels-V2-DF-1.3B-540P-Diffusers", SKYREELS_V2_DF,
        "SkyReels-V2 diffusion forcing 1.3B, 540p, 24 fps; text, first (+last) frame, and continuation of a "
        "video prefix to any length — long shots and the zoom look",
        vram="~15 GB for 540p at 1.3B without offload (authors' table); offload: model below that",
        speed="authors: the 1.3B makes 97 frames of 540p in a few minutes on one consumer GPU",
        source="SkyworkAI/SkyReels-V2 README; diffusers docs api/pipelines/skyreels_v2.md",
        weights=(("transformer", 1.3), ("text_encoder umT5-XXL", 5.7), ("vae", 0.13))),
    Preset(
        "skyreels-v2-df-14b-720p", "Skywork/SkyReels-V2-DF-14B-720P-Diffusers",
        replace(SKYREELS_V2_DF, width=1280, height=720, frames=121, max_frames=737),
        "SkyReels-V2 diffusion forcing 14B, 720p, 24 fps; continuation to any length",
        vram="~51 GB for 720p at 14B (authors' table); offload: model / group on less",
        speed="authors' table: tens of minutes per 720p clip on one A100 without distillation",
        source="SkyworkAI/SkyReels-V2 README; installed SkyReelsV2DiffusionForcing example",
        weights=(("transformer", 14.0), ("text_encoder umT5-XXL", 5.7), ("vae", 0.13))),
    Preset(
        "sana-video-2b-480p", "Efficient-Large-Model/SANA-Video_2B_480p_diffusers", SANA_VIDEO,
        "SANA-Video 2B, 480p, 16 fps, linear attention: the fast text-to-video preview model",
        vram="2B bf16 ~4 GB + Gemma 2 2B ~5 GB: fits 16 GB without offload",
        speed="authors: several times faster than Wan 2.1 1.3B at 480p",
        source="NVlabs/Sana (SANA-Video) README; diffusers docs api/pipelines/sana_video.md",
        weights=(("transformer", 2.0), ("text_encoder Gemma-2-2B", 2.6), ("vae", 0.13))),
    Preset(
        "kandinsky-5-t2v-lite", "kandinskylab/Kandinsky-5.0-T2V-Lite-sft-5s-Diffusers", KANDINSKY5_T2V,
        "Kandinsky 5.0 Video Lite 2B text-to-video, 768x512, 24 fps, 5 s clips",
        vram="2B bf16 ~4 GB + Qwen2.5-VL-7B ~16 GB + CLIP-L: 24 GB, or offload: model",
        speed="authors: distilled 16-step variants for speed; 50 steps here",
        source="kandinskylab/kandinsky-5 README; diffusers docs api/pipelines/kandinsky5_video.md",
        weights=(("transformer", 2.0), ("text_encoder Qwen2.5-VL-7B", 8.3), ("text_encoder_2 CLIP-L", 0.12),
                 ("vae", 0.25))),
)}


def get(name: str) -> Preset | None:
    """The preset called ``name`` (case-insensitive), or None."""
    return PRESETS.get(str(name).strip().lower())


OFFLOAD_MODES = ("none", "model", "group", "sequential")


def gpu_weights_gb(preset: Preset, offload: str) -> float:
    """GPU memory the preset's weights hold at peak under ``offload``, in GB (estimate from parameter counts).

    bf16 is 2 bytes a parameter, float32 components (Wan's VAE and CLIP image encoder) 4. ``none``
    keeps every component on the GPU; ``model`` one component at a time (the largest sets the peak);
    ``group`` / ``sequential`` stream layers, so the weights on the GPU stay near one block (~1-2 GB at
    these sizes). Activations (size- and frame-dependent) come on top.
    """
    sizes = [b * (4 if ("fp32" in name or (name == "vae" and preset.profile.vae_fp32)) else 2)
             for name, b in preset.weights]
    if not sizes:
        return 0.0
    if offload == "none":
        return sum(sizes)
    if offload == "model":
        return max(sizes)
    biggest = max(b for _, b in preset.weights)
    blocks = 40 if biggest >= 5 else 30  # transformer depth at these sizes
    return max(0.5, 2 * biggest / blocks * (2 if offload == "group" else 1))


def cpu_weights_gb(preset: Preset) -> float:
    """Host RAM the weights need when offloaded (all of them, in their load dtype), in GB."""
    return sum(b * (4 if "fp32" in name else 2) for name, b in preset.weights)

"""Tiny random-weight pipelines of the newer diffusers video families, built in code for tests.

LTX-2 (with its latent upsampler saved where the hub layout has it), Wan VACE, Wan 2.2 A14B (two
experts), SkyReels-V2 diffusion forcing, HunyuanVideo 1.5 (T2V and I2V), SANA-Video, Kandinsky 5,
FramePack and CogVideoX. Text encoders are built from tiny configs (Gemma 3, Gemma 2, Qwen2.5-VL, T5, CLIP, Llama);
tokenizers are the word-level one of :func:`songreel.generate.tiny_models.tiny_tokenizer` (with a chat
template where the pipeline applies one). Entry point: :func:`songreel.generate.tiny_models.build_tiny`.
"""

from __future__ import annotations

from .tiny_models import _t5, _wan_vae, tiny_tokenizer

KINDS = ("ltx2", "wan-vace", "wan-a14b", "skyreels-df", "hunyuan15-t2v", "hunyuan15-i2v", "sana-video",
         "kandinsky5", "framepack", "cogvideox")

_CHAT = ("{% for m in messages %}{{ m['role'] }} {% if m['content'] is string %}{{ m['content'] }}"
         "{% else %}{% for c in m['content'] %}{{ c['text'] }} {% endfor %}{% endif %} {% endfor %}")


def build(kind: str):
    """Build the tiny pipeline of ``kind`` (one of :data:`KINDS`) with fixed seeds."""
    import torch

    torch.manual_seed(0)
    return _BUILDERS[kind]()


def save_extras(kind: str, pipe, folder) -> None:
    """Parts the hub layout keeps beside the pipeline (LTX-2's ``latent_upsampler/``)."""
    if kind == "ltx2":
        import torch
        from diffusers.pipelines.ltx2.latent_upsampler import LTX2LatentUpsamplerModel

        torch.manual_seed(0)
        LTX2LatentUpsamplerModel(in_channels=4, mid_channels=32, num_blocks_per_stage=1).save_pretrained(
            str(folder / "latent_upsampler"))


def _ltx2():
    import torch
    from diffusers import (
        AutoencoderKLLTX2Audio,
        AutoencoderKLLTX2Video,
        FlowMatchEulerDiscreteScheduler,
        LTX2ConditionPipeline,
        LTX2VideoTransformer3DModel,
    )
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3TextConfig, SiglipVisionConfig

    text = Gemma3TextConfig(vocab_size=128, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                            num_attention_heads=2, num_key_value_heads=1, head_dim=8, max_position_embeddings=64,
                            sliding_window=16)
    vision = SiglipVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                                image_size=16, patch_size=8)
    encoder = Gemma3ForConditionalGeneration(Gemma3Config(text_config=text, vision_config=vision,
                                                          mm_tokens_per_image=4)).eval()
    torch.manual_seed(0)
    transformer = LTX2VideoTransformer3DModel(
        in_channels=4, out_channels=4, patch_size=1, patch_size_t=1, num_attention_heads=2, attention_head_dim=8,
        cross_attention_dim=16, audio_in_channels=4, audio_out_channels=4, audio_num_attention_heads=2,
        audio_attention_head_dim=4, audio_cross_attention_dim=8, num_layers=1, qk_norm="rms_norm_across_heads",
        caption_channels=16, rope_double_precision=False, rope_type="split")
    torch.manual_seed(0)
    connectors = LTX2TextConnectors(
        caption_channels=16, text_proj_in_factor=3, video_connector_num_attention_heads=2,
        video_connector_attention_head_dim=8, video_connector_num_layers=1,
        video_connector_num_learnable_registers=None, audio_connector_num_attention_heads=2,
        audio_connector_attention_head_dim=8, audio_connector_num_layers=1,
        audio_connector_num_learnable_registers=None, connector_rope_base_seq_len=32, rope_theta=10000.0,
        rope_double_precision=False, causal_temporal_positioning=False, rope_type="split")
    torch.manual_seed(0)
    # 4x spatial and temporal compression keeps the stage-2 token count small on CPU
    vae = AutoencoderKLLTX2Video(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 8), decoder_block_out_channels=(8, 8),
        layers_per_block=(1, 1), decoder_layers_per_block=(1, 1, 1), spatio_temporal_scaling=(True, True),
        decoder_spatio_temporal_scaling=(True, True), decoder_inject_noise=(False, False, False),
        downsample_type=("spatiotemporal", "spatiotemporal"), upsample_type=("spatiotemporal", "spatiotemporal"),
        upsample_residual=(False, False), upsample_factor=(1, 1), timestep_conditioning=False, patch_size=1,
        patch_size_t=1, encoder_causal=True, decoder_causal=False)
    torch.manual_seed(0)
    audio_vae = AutoencoderKLLTX2Audio(
        base_channels=4, output_channels=2, ch_mult=(1,), num_res_blocks=1, attn_resolutions=None, in_channels=2,
        resolution=32, latent_channels=2, norm_type="pixel", causality_axis="height", dropout=0.0,
        mid_block_add_attention=False, sample_rate=16000, mel_hop_length=160, is_causal=True, mel_bins=8)
    torch.manual_seed(0)
    vocoder = LTX2Vocoder(in_channels=16, hidden_channels=32, out_channels=2, upsample_kernel_sizes=[4, 4],
                          upsample_factors=[2, 2], resnet_kernel_sizes=[3], resnet_dilations=[[1, 3, 5]],
                          leaky_relu_negative_slope=0.1, output_sampling_rate=16000)
    return LTX2ConditionPipeline(
        transformer=transformer, vae=vae, audio_vae=audio_vae, scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=encoder, tokenizer=tiny_tokenizer(), connectors=connectors, vocoder=vocoder,
        audio_scheduler=None, processor=None, prompt_enhancer=None, duration_head=None)


def _wan_vace():
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, WanVACEPipeline, WanVACETransformer3DModel

    vae = _wan_vae()
    torch.manual_seed(0)
    transformer = WanVACETransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
        text_dim=32, freq_dim=256, ffn_dim=32, num_layers=3, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32, vace_layers=[0, 2], vace_in_channels=96)
    return WanVACEPipeline(tokenizer=tiny_tokenizer(), text_encoder=_t5(True), vae=vae, transformer=transformer,
                           scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0), transformer_2=None)


def _wan_a14b():
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, WanPipeline

    from .tiny_models import _wan_transformer

    vae = _wan_vae()
    torch.manual_seed(0)
    high = _wan_transformer()
    torch.manual_seed(1)
    low = _wan_transformer()
    return WanPipeline(tokenizer=tiny_tokenizer(), text_encoder=_t5(True), vae=vae, transformer=high,
                       transformer_2=low, scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0), boundary_ratio=0.875)


def _skyreels_df():
    import torch
    from diffusers import SkyReelsV2DiffusionForcingPipeline, SkyReelsV2Transformer3DModel, UniPCMultistepScheduler

    vae = _wan_vae()
    torch.manual_seed(0)
    transformer = SkyReelsV2Transformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
        text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32)
    return SkyReelsV2DiffusionForcingPipeline(
        tokenizer=tiny_tokenizer(), text_encoder=_t5(True), transformer=transformer, vae=vae,
        scheduler=UniPCMultistepScheduler(flow_shift=8.0, use_flow_sigmas=True, prediction_type="flow_prediction"))


def _hunyuan15(i2v: bool):
    import torch
    from diffusers import (
        AutoencoderKLHunyuanVideo15,
        FlowMatchEulerDiscreteScheduler,
        HunyuanVideo15ImageToVideoPipeline,
        HunyuanVideo15Pipeline,
        HunyuanVideo15Transformer3DModel,
    )
    from diffusers.guiders import ClassifierFreeGuidance
    from transformers import ByT5Tokenizer, Qwen2_5_VLTextConfig, Qwen2_5_VLTextModel

    transformer = HunyuanVideo15Transformer3DModel(
        in_channels=9, out_channels=4, num_attention_heads=2, attention_head_dim=8, num_layers=1,
        num_refiner_layers=1, mlp_ratio=2.0, patch_size=1, patch_size_t=1, text_embed_dim=16, text_embed_2_dim=32,
        image_embed_dim=12, rope_axes_dim=(2, 2, 4), target_size=16, task_type="i2v" if i2v else "t2v")
    torch.manual_seed(0)
    vae = AutoencoderKLHunyuanVideo15(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(16, 16), layers_per_block=1,
        spatial_compression_ratio=4, temporal_compression_ratio=4, downsample_match_channel=False,
        upsample_match_channel=False)
    torch.manual_seed(0)
    qwen = Qwen2_5_VLTextModel(Qwen2_5_VLTextConfig(
        vocab_size=128, hidden_size=16, intermediate_size=16, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=2, rope_scaling={"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"},
        rope_theta=1000000.0)).eval()
    tok = tiny_tokenizer(max_length=32)
    tok.chat_template = _CHAT
    torch.manual_seed(0)
    comps = dict(transformer=transformer.eval(), vae=vae.eval(), scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
                 text_encoder=qwen, tokenizer=tok, text_encoder_2=_t5(False), tokenizer_2=ByT5Tokenizer(),
                 guider=ClassifierFreeGuidance(guidance_scale=1.0))
    if not i2v:
        return HunyuanVideo15Pipeline(**comps)
    from transformers import SiglipImageProcessor, SiglipVisionConfig, SiglipVisionModel

    torch.manual_seed(0)
    encoder = SiglipVisionModel(SiglipVisionConfig(hidden_size=12, intermediate_size=16, num_hidden_layers=1,
                                                   num_attention_heads=2, image_size=16, patch_size=8)).eval()
    return HunyuanVideo15ImageToVideoPipeline(**comps, image_encoder=encoder,
                                              feature_extractor=SiglipImageProcessor(size={"height": 16, "width": 16}))


def _sana_video():
    import torch
    from diffusers import DPMSolverMultistepScheduler, SanaVideoPipeline, SanaVideoTransformer3DModel
    from transformers import Gemma2Config, Gemma2Model

    vae = _wan_vae()
    torch.manual_seed(0)
    encoder = Gemma2Model(Gemma2Config(head_dim=16, hidden_size=8, intermediate_size=64, max_position_embeddings=512,
                                       num_attention_heads=2, num_hidden_layers=1, num_key_value_heads=2,
                                       vocab_size=128, attn_implementation="eager")).eval()
    torch.manual_seed(0)
    transformer = SanaVideoTransformer3DModel(
        in_channels=16, out_channels=16, num_attention_heads=2, attention_head_dim=12, num_layers=2,
        num_cross_attention_heads=2, cross_attention_head_dim=12, cross_attention_dim=24, caption_channels=8,
        mlp_ratio=2.5, dropout=0.0, attention_bias=False, sample_size=8, patch_size=(1, 2, 2),
        norm_elementwise_affine=False, norm_eps=1e-6, qk_norm="rms_norm_across_heads", rope_max_seq_len=32)
    return SanaVideoPipeline(tokenizer=tiny_tokenizer(max_length=300), text_encoder=encoder, vae=vae,
                             transformer=transformer, scheduler=DPMSolverMultistepScheduler())


def _kandinsky5():
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, Kandinsky5T2VPipeline, Kandinsky5Transformer3DModel
    from transformers import CLIPTextConfig, CLIPTextModel, Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    vae = _hunyuan_vae(16)
    torch.manual_seed(0)
    qwen = Qwen2_5_VLForConditionalGeneration(Qwen2_5_VLConfig(
        text_config={"hidden_size": 32, "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                     "num_key_value_heads": 2, "vocab_size": 128,
                     "rope_scaling": {"mrope_section": [2, 2, 4], "rope_type": "default", "type": "default"},
                     "rope_theta": 1000000.0},
        vision_config={"depth": 2, "hidden_size": 32, "intermediate_size": 32, "num_heads": 2, "out_hidden_size": 32},
        hidden_size=32, vocab_size=128, vision_end_token_id=125, vision_start_token_id=124,
        vision_token_id=126, image_token_id=127, video_token_id=123)).eval()
    torch.manual_seed(0)
    clip = CLIPTextModel(CLIPTextConfig(bos_token_id=3, eos_token_id=1, hidden_size=16, intermediate_size=16,
                                        layer_norm_eps=1e-05, num_attention_heads=2, num_hidden_layers=2,
                                        pad_token_id=0, vocab_size=128, projection_dim=16)).eval()
    torch.manual_seed(0)
    transformer = Kandinsky5Transformer3DModel(
        in_visual_dim=16, in_text_dim=32, in_text_dim2=16, time_dim=16, out_visual_dim=16, patch_size=(1, 2, 2),
        model_dim=16, ff_dim=32, num_text_blocks=1, num_visual_blocks=2, axes_dims=(1, 1, 2), visual_cond=False,
        attention_type="regular")
    return Kandinsky5T2VPipeline(vae=vae, text_encoder=qwen, tokenizer=tiny_tokenizer(max_length=256),
                                 text_encoder_2=clip, tokenizer_2=tiny_tokenizer(max_length=77),
                                 transformer=transformer, scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0))


def _hunyuan_vae(latent_channels: int):
    """HunyuanVideo's VAE with four blocks: 8x spatial and the real 4x temporal compression."""
    import torch
    from diffusers import AutoencoderKLHunyuanVideo

    torch.manual_seed(0)
    return AutoencoderKLHunyuanVideo(
        in_channels=3, out_channels=3, latent_channels=latent_channels,
        down_block_types=("HunyuanVideoDownBlock3D",) * 4, up_block_types=("HunyuanVideoUpBlock3D",) * 4,
        block_out_channels=(8, 8, 8, 8), layers_per_block=1, act_fn="silu", norm_num_groups=4,
        scaling_factor=0.476986, spatial_compression_ratio=8, temporal_compression_ratio=4,
        mid_block_add_attention=True)


def _framepack():
    import torch
    from diffusers import (
        FlowMatchEulerDiscreteScheduler,
        HunyuanVideoFramepackPipeline,
        HunyuanVideoFramepackTransformer3DModel,
    )
    from transformers import (
        CLIPTextConfig,
        CLIPTextModel,
        LlamaConfig,
        LlamaModel,
        SiglipImageProcessor,
        SiglipVisionConfig,
        SiglipVisionModel,
    )

    transformer = HunyuanVideoFramepackTransformer3DModel(
        in_channels=4, out_channels=4, num_attention_heads=2, attention_head_dim=10, num_layers=1,
        num_single_layers=1, num_refiner_layers=1, patch_size=2, patch_size_t=1, guidance_embeds=True,
        text_embed_dim=16, pooled_projection_dim=8, rope_axes_dim=(2, 4, 4), image_condition_type=None,
        has_image_proj=True, image_proj_dim=16, has_clean_x_embedder=True)
    torch.manual_seed(0)
    vae = _hunyuan_vae(4)
    torch.manual_seed(0)
    llama = LlamaModel(LlamaConfig(bos_token_id=3, eos_token_id=1, hidden_size=16, intermediate_size=37,
                                   max_position_embeddings=512, num_attention_heads=4, num_hidden_layers=2,
                                   pad_token_id=0, vocab_size=128, hidden_act="gelu", projection_dim=32)).eval()
    torch.manual_seed(0)
    clip = CLIPTextModel(CLIPTextConfig(bos_token_id=3, eos_token_id=1, hidden_size=8, intermediate_size=37,
                                        layer_norm_eps=1e-05, num_attention_heads=4, num_hidden_layers=2,
                                        pad_token_id=0, vocab_size=128, hidden_act="gelu", projection_dim=32)).eval()
    torch.manual_seed(0)
    siglip = SiglipVisionModel(SiglipVisionConfig(hidden_size=16, intermediate_size=37, num_hidden_layers=1,
                                                  num_attention_heads=2, image_size=16, patch_size=8)).eval()
    return HunyuanVideoFramepackPipeline(
        transformer=transformer, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0), text_encoder=llama,
        tokenizer=tiny_tokenizer(max_length=512), text_encoder_2=clip, tokenizer_2=tiny_tokenizer(max_length=77),
        image_encoder=siglip, feature_extractor=SiglipImageProcessor(size={"height": 16, "width": 16}))


def _cogvideox():
    import torch
    from diffusers import AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXPipeline, CogVideoXTransformer3DModel

    transformer = CogVideoXTransformer3DModel(
        num_attention_heads=4, attention_head_dim=8, in_channels=4, out_channels=4, time_embed_dim=2,
        text_embed_dim=32, num_layers=1, sample_width=2, sample_height=2, sample_frames=9, patch_size=2,
        temporal_compression_ratio=4, max_text_seq_length=226)
    torch.manual_seed(0)
    vae = AutoencoderKLCogVideoX(
        in_channels=3, out_channels=3, down_block_types=("CogVideoXDownBlock3D",) * 4,
        up_block_types=("CogVideoXUpBlock3D",) * 4, block_out_channels=(8, 8, 8, 8), latent_channels=4,
        layers_per_block=1, norm_num_groups=2, temporal_compression_ratio=4)
    return CogVideoXPipeline(tokenizer=tiny_tokenizer(max_length=226), text_encoder=_t5(False), vae=vae,
                             transformer=transformer, scheduler=CogVideoXDDIMScheduler())


_BUILDERS = {
    "ltx2": _ltx2, "wan-vace": _wan_vace, "wan-a14b": _wan_a14b, "skyreels-df": _skyreels_df,
    "hunyuan15-t2v": lambda: _hunyuan15(False), "hunyuan15-i2v": lambda: _hunyuan15(True),
    "sana-video": _sana_video, "kandinsky5": _kandinsky5, "framepack": _framepack, "cogvideox": _cogvideox,
}

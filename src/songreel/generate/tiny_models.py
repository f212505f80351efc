"""Tiny random-weight diffusers pipelines for tests (no downloads, about a second per run on CPU).

Each builder makes the real pipeline class from tiny configs — transformer / VAE / text encoder /
tokenizer / image encoder — and :func:`save_tiny` writes it with ``save_pretrained`` so tests load it
back through ``from_pretrained(folder)``, the path users take. The outputs are noise; the plumbing
(classes, call arguments, conditioning, frame counts) is the real thing.

Needs torch, diffusers, transformers, tokenizers, accelerate (folder loading) and ftfy (Wan I2V).
"""

from __future__ import annotations

from pathlib import Path

KINDS = ("wan-t2v", "wan-ti2v", "wan-i2v", "wan-flf2v", "ltx", "sd-inpaint", "ltx2", "wan-vace", "wan-a14b",
         "skyreels-df", "hunyuan15-t2v", "hunyuan15-i2v", "sana-video", "kandinsky5", "framepack", "cogvideox")
"""The first six here; the rest in :mod:`songreel.generate.tiny_families`."""

_WORDS = ("a an the of and in on at to with from by for is are was were be red green blue black white "
          "light dark night day sun moon sky sea city street car road tree forest river mountain snow rain "
          "woman man girl boy dog cat bird dance dancing walk walking run running camera slow fast pan zoom "
          "close wide shot neon warm cold").split()


def tiny_tokenizer(max_length: int = 32):
    """A word-level ``PreTrainedTokenizerFast`` (vocab of ~90 words) built in code."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    special = ["<pad>", "</s>", "<unk>", "<s>"]
    vocab = {w: i for i, w in enumerate(special + list(dict.fromkeys(_WORDS)))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>",
                                   unk_token="<unk>", bos_token="<s>", model_max_length=max_length)


def _t5(umt5: bool):
    from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

    kw = dict(vocab_size=128, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
              relative_attention_num_buckets=8, dropout_rate=0.0, pad_token_id=0, eos_token_id=1)
    if umt5:
        return UMT5EncoderModel(UMT5Config(**kw)).eval()
    return T5EncoderModel(T5Config(**kw)).eval()


def _wan_vae():
    from diffusers import AutoencoderKLWan

    return AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                            temperal_downsample=[False, True, True])


def _wan_transformer(*, in_channels: int = 16, image_dim=None, pos_embed_seq_len=None):
    from diffusers import WanTransformer3DModel

    return WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12,
                                 in_channels=in_channels, out_channels=16, text_dim=32, freq_dim=256,
                                 ffn_dim=32, num_layers=2, cross_attn_norm=True,
                                 qk_norm="rms_norm_across_heads", rope_max_seq_len=32, image_dim=image_dim,
                                 pos_embed_seq_len=pos_embed_seq_len)


def build_tiny(kind: str):
    """Build a tiny pipeline of ``kind`` (one of :data:`KINDS`) with fixed seeds.

    ``wan-t2v``: ``WanPipeline``; ``wan-ti2v``: ``WanPipeline`` with ``expand_timesteps`` (Wan 2.2 TI2V
    layout: the same weights also run ``WanImageToVideoPipeline``); ``wan-i2v``: Wan 2.1 I2V with a CLIP
    image encoder; ``wan-flf2v``: Wan 2.1 FLF2V (first + last frame); ``ltx``: ``LTXConditionPipeline``;
    ``sd-inpaint``: ``StableDiffusionInpaintPipeline`` (for outpainting / infinite zoom); the newer
    families: :data:`songreel.generate.tiny_families.KINDS`.
    """
    import torch

    if kind not in KINDS:
        raise ValueError(f"tiny model kind: got {kind!r}, accepted: {', '.join(KINDS)}")
    from . import tiny_families

    if kind in tiny_families.KINDS:
        return tiny_families.build(kind)
    torch.manual_seed(0)
    if kind in ("wan-t2v", "wan-ti2v"):
        from diffusers import FlowMatchEulerDiscreteScheduler, WanPipeline

        vae = _wan_vae()
        torch.manual_seed(0)
        transformer = _wan_transformer()
        return WanPipeline(tokenizer=tiny_tokenizer(), text_encoder=_t5(True), vae=vae, transformer=transformer,
                           scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
                           expand_timesteps=(kind == "wan-ti2v"))
    if kind in ("wan-i2v", "wan-flf2v"):
        from diffusers import FlowMatchEulerDiscreteScheduler, WanImageToVideoPipeline
        from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

        flf = kind == "wan-flf2v"
        image_size = 4 if flf else 32
        vae = _wan_vae()
        torch.manual_seed(0)
        transformer = _wan_transformer(in_channels=36, image_dim=4,
                                       pos_embed_seq_len=2 * (4 * 4 + 1) if flf else None)
        torch.manual_seed(0)
        encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
            hidden_size=4, projection_dim=4, num_hidden_layers=2, num_attention_heads=2, image_size=image_size,
            intermediate_size=16, patch_size=1)).eval()
        processor = CLIPImageProcessor(crop_size=image_size, size=image_size)
        return WanImageToVideoPipeline(tokenizer=tiny_tokenizer(), text_encoder=_t5(True), vae=vae,
                                       scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
                                       image_processor=processor, image_encoder=encoder, transformer=transformer)
    if kind == "ltx":
        from diffusers import AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXConditionPipeline
        from diffusers import LTXVideoTransformer3DModel

        transformer = LTXVideoTransformer3DModel(in_channels=8, out_channels=8, patch_size=1, patch_size_t=1,
                                                 num_attention_heads=4, attention_head_dim=8,
                                                 cross_attention_dim=32, num_layers=1, caption_channels=32)
        torch.manual_seed(0)
        vae = AutoencoderKLLTXVideo(
            in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8, 8, 8, 8),
            decoder_block_out_channels=(8, 8, 8, 8), layers_per_block=(1, 1, 1, 1, 1),
            decoder_layers_per_block=(1, 1, 1, 1, 1), spatio_temporal_scaling=(True, True, False, False),
            decoder_spatio_temporal_scaling=(True, True, False, False),
            decoder_inject_noise=(False, False, False, False, False), upsample_residual=(False, False, False, False),
            upsample_factor=(1, 1, 1, 1), timestep_conditioning=False, patch_size=1, patch_size_t=1,
            encoder_causal=True, decoder_causal=False)
        return LTXConditionPipeline(scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, text_encoder=_t5(False),
                                    tokenizer=tiny_tokenizer(), transformer=transformer)
    # sd-inpaint
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionInpaintPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    unet = UNet2DConditionModel(block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=9,
                                out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
                                attention_head_dim=(2, 4))
    torch.manual_seed(0)
    vae = AutoencoderKL(block_out_channels=[32, 64], in_channels=3, out_channels=3,
                        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
                        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"], latent_channels=4)
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=3, eos_token_id=1, pad_token_id=0, hidden_size=32, intermediate_size=37,
        layer_norm_eps=1e-05, num_attention_heads=4, num_hidden_layers=2, vocab_size=128,
        max_position_embeddings=77)).eval()
    return StableDiffusionInpaintPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tiny_tokenizer(max_length=77), unet=unet,
        scheduler=DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                clip_sample=False, set_alpha_to_one=False, steps_offset=1),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False)


def save_tiny(kind: str, folder: Path) -> Path:
    """Build a tiny pipeline of ``kind`` and ``save_pretrained`` it to ``folder``; returns the folder."""
    folder = Path(folder)
    pipe = build_tiny(kind)
    pipe.save_pretrained(str(folder))
    from . import tiny_families

    tiny_families.save_extras(kind, pipe, folder)
    return folder

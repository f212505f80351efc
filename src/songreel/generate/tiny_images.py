"""A tiny random-weight FLUX.2 [klein] image pipeline for tests (no downloads, ~1 s a call on CPU).

The real ``Flux2KleinPipeline`` class from tiny configs — transformer, VAE, a 28-layer 16-wide Qwen3
text encoder (the pipeline reads hidden layers 9, 18 and 27, as the released model does), and a
word-level tokenizer with a chat template built in code. It makes images from text and takes a list
of reference pictures, so one tiny model stands in for both the sheet and the keyframe model.
Save it with :func:`save_tiny_image_model` and load it back with ``from_pretrained(folder)``.
"""

from __future__ import annotations

from pathlib import Path

_WORDS = ("a an the of and in on at to with from by for is her him she he girl boy woman man old young teen "
          "red blue green black white hair jacket dress school street car sea sky night day dance kiss "
          "portrait character sheet front side view smiling standing sitting").split()


def _tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    special = ["<pad>", "</s>", "<unk>", "<s>"]
    vocab = {w: i for i, w in enumerate(special + list(dict.fromkeys(_WORDS)))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                   bos_token="<s>", model_max_length=64)
    fast.chat_template = "{% for m in messages %}{{ m['content'] }} {% endfor %}"
    return fast


def build_tiny_image_model():
    """A tiny ``Flux2KleinPipeline`` with fixed seeds."""
    import torch
    from diffusers import AutoencoderKLFlux2, FlowMatchEulerDiscreteScheduler, Flux2KleinPipeline
    from diffusers import Flux2Transformer2DModel
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(0)
    transformer = Flux2Transformer2DModel(
        patch_size=1, in_channels=4, num_layers=1, num_single_layers=1, attention_head_dim=16,
        num_attention_heads=2, joint_attention_dim=48, timestep_guidance_channels=256,
        axes_dims_rope=[4, 4, 4, 4], guidance_embeds=False)
    torch.manual_seed(0)
    text_encoder = Qwen3ForCausalLM(Qwen3Config(
        intermediate_size=16, hidden_size=16, num_hidden_layers=28, num_attention_heads=2, num_key_value_heads=2,
        head_dim=8, vocab_size=96, max_position_embeddings=512)).eval()
    torch.manual_seed(0)
    vae = AutoencoderKLFlux2(
        sample_size=32, in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",),
        up_block_types=("UpDecoderBlock2D",), block_out_channels=(4,), layers_per_block=1, latent_channels=1,
        norm_num_groups=1, use_quant_conv=False, use_post_quant_conv=False)
    return Flux2KleinPipeline(scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, text_encoder=text_encoder,
                              tokenizer=_tokenizer(), transformer=transformer)


def save_tiny_image_model(folder: Path) -> Path:
    """Build the tiny pipeline and ``save_pretrained`` it to ``folder``; returns the folder."""
    folder = Path(folder)
    build_tiny_image_model().save_pretrained(str(folder))
    return folder

"""Tiny T5-family tokenizer and text encoders for the test pipelines, built entirely in code.

The real Wan, LTX-Video and CogVideoX checkpoints ship a SentencePiece/Unigram T5 tokenizer and a
(UM)T5 encoder; nothing may be fetched, so the tokenizer's vocabulary is written here and the
encoders start from random weights. Heavy imports stay inside the functions.
"""

from __future__ import annotations

from typing import Any

# A few dozen words a test prompt is likely to use; anything else falls back to single letters,
# so every prompt tokenizes to something, never only <unk>.
_WORDS = (
    "a an the and of in on at with over under into from to is are slowly quickly camera pans zooms "
    "moves walks runs flies waves clouds sky sea sun sunset light dark red green blue white black "
    "cat dog bird tree trees hills city street water fire smoke snow rain wind person face hand "
    "video frame motion still blurry static low quality high detailed"
).split()
_LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"

# Pipelines pad prompts to max_sequence_length; the tokenizer's own limit must not be lower.
TOKENIZER_MAX_LENGTH = 512


def tiny_t5_tokenizer() -> Any:
    """A T5 (Unigram) tokenizer with a small fixed vocabulary: <pad>=0, </s>=1, <unk>=2 as in T5."""
    from transformers import T5Tokenizer

    vocab: list[tuple[str, float]] = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    vocab += [("\u2581" + word, -3.0 - index % 5) for index, word in enumerate(_WORDS)]
    vocab += [(letter, -10.0) for letter in _LETTERS]
    # extra_ids=0: the sentinel tokens are for T5's span-corruption training, not for encoding prompts.
    return T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=TOKENIZER_MAX_LENGTH)


def _t5_config_kwargs(tokenizer: Any, d_model: int) -> dict[str, Any]:
    return dict(
        vocab_size=len(tokenizer),
        d_model=d_model,
        d_kv=4,
        d_ff=2 * d_model,
        num_layers=1,
        num_decoder_layers=1,
        num_heads=2,
        relative_attention_num_buckets=8,
        relative_attention_max_distance=16,
        feed_forward_proj="gated-gelu",  # as in T5 v1.1 / UMT5, which these models use
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )


def tiny_t5_encoder(tokenizer: Any, d_model: int) -> Any:
    """A randomly initialised T5EncoderModel whose hidden size is `d_model` (the pipeline's text dim)."""
    from transformers import T5Config, T5EncoderModel

    return T5EncoderModel(T5Config(**_t5_config_kwargs(tokenizer, d_model))).eval()


def tiny_umt5_encoder(tokenizer: Any, d_model: int) -> Any:
    """A randomly initialised UMT5EncoderModel (Wan's text encoder) of hidden size `d_model`."""
    from transformers import UMT5Config, UMT5EncoderModel

    return UMT5EncoderModel(UMT5Config(**_t5_config_kwargs(tokenizer, d_model))).eval()


def tiny_gemma_tokenizer() -> Any:
    """A Gemma (byte-fallback BPE) tokenizer over single letters and the word marker, built in code.
    Its limit matches TOKENIZER_MAX_LENGTH, as pipelines pad prompts to their own maximum."""
    from transformers import GemmaTokenizer

    specials = ("<pad>", "<eos>", "<bos>", "<unk>", "<mask>")
    vocab = {token: index for index, token in enumerate((*specials, "\u2581", *_LETTERS))}
    return GemmaTokenizer(vocab=vocab, merges=[], model_max_length=TOKENIZER_MAX_LENGTH)


def tiny_gemma3_encoder(tokenizer: Any, hidden_size: int = 16) -> Any:
    """A randomly initialised Gemma3ForConditionalGeneration (LTX-2's text encoder): two text
    layers and a one-layer SigLIP vision tower the pipeline never calls."""
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration

    config = Gemma3Config(
        text_config=dict(
            vocab_size=len(tokenizer),
            hidden_size=hidden_size,
            intermediate_size=2 * hidden_size,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
            head_dim=8,
            sliding_window=16,
            max_position_embeddings=TOKENIZER_MAX_LENGTH,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            bos_token_id=tokenizer.bos_token_id,
        ),
        vision_config=dict(
            hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2, image_size=16, patch_size=8,
        ),
        mm_tokens_per_image=4,
    )
    return Gemma3ForConditionalGeneration(config).eval()


def tiny_llama_tokenizer() -> Any:
    """A Llama (byte-fallback BPE) tokenizer over single letters, built in code (HunyuanVideo's
    first text encoder is a Llama)."""
    from transformers import LlamaTokenizer

    specials = ("<unk>", "<s>", "</s>", "<pad>")
    vocab = {token: index for index, token in enumerate((*specials, "\u2581", *_LETTERS))}
    return LlamaTokenizer(vocab=vocab, merges=[], pad_token="<pad>", model_max_length=TOKENIZER_MAX_LENGTH)


def tiny_llama_encoder(tokenizer: Any, hidden_size: int) -> Any:
    """A randomly initialised LlamaModel of hidden size `hidden_size`, three layers: HunyuanVideo
    reads the hidden state before the last (`num_hidden_layers_to_skip=2` counts from the output)."""
    from transformers import LlamaConfig, LlamaModel

    return LlamaModel(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size, num_hidden_layers=3,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=TOKENIZER_MAX_LENGTH,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )).eval()


# Qwen's chat layout, which HunyuanVideo 1.5 wraps every prompt in (a system message, the prompt).
_QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tiny_qwen2_tokenizer() -> Any:
    """A Qwen2 (byte-level BPE) tokenizer over the 256 byte symbols, with Qwen's chat markers and
    chat template, built in code."""
    from transformers import Qwen2Tokenizer

    from studio.devtools.tiny.i2vgen_xl import _bytes_to_unicode

    symbols = list(dict.fromkeys(_bytes_to_unicode().values()))
    vocab = {symbol: index for index, symbol in enumerate(symbols)}
    for special in ("<|endoftext|>", "<|im_start|>", "<|im_end|>"):
        vocab[special] = len(vocab)
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[], model_max_length=2048)
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tokenizer.chat_template = _QWEN_CHAT_TEMPLATE
    return tokenizer


def tiny_qwen25_vl_text_encoder(tokenizer: Any, hidden_size: int) -> Any:
    """A randomly initialised Qwen2_5_VLTextModel: three layers, as the pipeline reads the hidden
    state two before the last."""
    from transformers import Qwen2_5_VLTextConfig, Qwen2_5_VLTextModel

    config = Qwen2_5_VLTextConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size, num_hidden_layers=3,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=2048,
        rope_scaling={"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"}, rope_theta=1000000.0,
        pad_token_id=tokenizer.pad_token_id,
    )
    return Qwen2_5_VLTextModel(config).eval()

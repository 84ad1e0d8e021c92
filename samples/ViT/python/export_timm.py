"""Exports a timm Vision Transformer for Fusion's parity tests (tests/Fusion.ViT.Tests) and the ViT sample.

Writes, into --out:
  weights.safetensors  the state dict (float32, or float16 with --weights-dtype f16; the logits are then computed
                       from the same fp16-rounded weights, so the file and the logits agree exactly)
  input.npy            a batch of inputs, float32 [B, 3, S, S] drawn from N(0, 1) (like normalized images)
  logits.npy           timm's float32 logits for that batch, computed on the CPU
  manifest.json        what was exported (timm/torch versions, configuration, seed, dtype, keys)

Configurations, mirrored in C# (samples/ViT/Model/VisionTransformerBase16.cs, tests/Fusion.ViT.Tests/ViTMini.cs):
  vit-b16   timm.create_model("vit_base_patch16_224"): 224x224 images, patch 16, dim 768, 12 blocks of 12 heads, 1000 classes
  vit-mini  timm's VisionTransformer class built directly: 32x32 images, patch 8, dim 64, 2 blocks of 4 heads, 10 classes

Weights are random and seeded (no download) unless --pretrained (vit-b16 only: timm's ImageNet weights from the Hugging
Face hub). timm's own init leaves biases at 0, norm scales at 1, the class token near 0 and Linear weights at std 0.02,
which makes attention almost uniform; so every parameter is redrawn: matrices and the patch convolution N(0, 1/fan-in),
norm scales N(1, 0.1), biases N(0, 0.1), class token and position embedding N(0, 0.5). Then each one matters to the
logits and attention is peaked, so a layout mistake in Fusion shows.

  python3 export_timm.py --config vit-mini --out samples/ViT/fixtures/vit-mini --weights-dtype f16 --batch 4   # the fixture
  python3 export_timm.py --out /tmp/vit-b16                                   # ViT-B/16, random, for FUSION_VIT_PARITY_DIR
  python3 export_timm.py --out /tmp/vit-b16-in1k --pretrained                 # timm's trained weights (for --weights)
"""
import argparse
import json
import os

import numpy as np
import timm
import torch
from safetensors.torch import save_file
from timm.models.vision_transformer import VisionTransformer

CONFIGS = {
    "vit-b16": dict(img_size=224, patch_size=16, embed_dim=768, depth=12, num_heads=12, num_classes=1000),
    "vit-mini": dict(img_size=32, patch_size=8, embed_dim=64, depth=2, num_heads=4, num_classes=10),
}


def build(config, pretrained):
    if config == "vit-b16":
        return timm.create_model("vit_base_patch16_224", pretrained=pretrained)
    return VisionTransformer(**CONFIGS[config])


def expected_keys(c):
    """timm's state-dict keys and shapes for the configuration: what Fusion's model declares."""
    dim, hidden, tokens = c["embed_dim"], 4 * c["embed_dim"], (c["img_size"] // c["patch_size"]) ** 2 + 1
    keys = {"cls_token": (1, 1, dim), "pos_embed": (1, tokens, dim),
            "patch_embed.proj.weight": (dim, 3, c["patch_size"], c["patch_size"]), "patch_embed.proj.bias": (dim,),
            "norm.weight": (dim,), "norm.bias": (dim,), "head.weight": (c["num_classes"], dim), "head.bias": (c["num_classes"],)}
    for i in range(c["depth"]):
        p = f"blocks.{i}."
        keys.update({p + "norm1.weight": (dim,), p + "norm1.bias": (dim,), p + "norm2.weight": (dim,), p + "norm2.bias": (dim,),
                     p + "attn.qkv.weight": (3 * dim, dim), p + "attn.qkv.bias": (3 * dim,),
                     p + "attn.proj.weight": (dim, dim), p + "attn.proj.bias": (dim,),
                     p + "mlp.fc1.weight": (hidden, dim), p + "mlp.fc1.bias": (hidden,),
                     p + "mlp.fc2.weight": (dim, hidden), p + "mlp.fc2.bias": (dim,)})
    return keys


def check_structure(model, config):
    """The model is the one Fusion declares: same keys and shapes, LayerNorm eps 1e-6, erf GELU, class-token pooling."""
    state = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    expected = expected_keys(CONFIGS[config])
    if state != expected:
        raise SystemExit(f"state dict differs from Fusion's ViT: missing {sorted(set(expected) - set(state))}, "
                         f"extra {sorted(set(state) - set(expected))}, "
                         f"shapes {[(k, state[k], expected[k]) for k in state if k in expected and state[k] != expected[k]]}")
    norms = [m for m in model.modules() if isinstance(m, torch.nn.LayerNorm)]
    if not norms or any(m.eps != 1e-6 for m in norms):
        raise SystemExit(f"LayerNorm eps {sorted({m.eps for m in norms})}, Fusion's ViT uses 1e-6")
    gelus = [m for m in model.modules() if isinstance(m, torch.nn.GELU)]
    if not gelus or any(m.approximate != "none" for m in gelus):
        raise SystemExit("the MLP activation is not nn.GELU in its erf form")
    if model.global_pool != "token" or model.num_prefix_tokens != 1 or model.no_embed_class:
        raise SystemExit(f"pooling {model.global_pool!r}, {model.num_prefix_tokens} prefix tokens, no_embed_class "
                         f"{model.no_embed_class}: Fusion's ViT takes the class token, whose position is embedded")


def randomize(model, generator):
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name in ("cls_token", "pos_embed"):
                param.normal_(0.0, 0.5, generator=generator)
            elif param.ndim >= 2:  # Linear weights [out, in] and the patch convolution [out, 3, p, p]
                param.normal_(0.0, param[0].numel() ** -0.5, generator=generator)
            elif name.endswith(".weight"):  # LayerNorm scales
                param.normal_(1.0, 0.1, generator=generator)
            else:  # biases
                param.normal_(0.0, 0.1, generator=generator)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--config", choices=sorted(CONFIGS), default="vit-b16")
    p.add_argument("--pretrained", action="store_true", help="timm's trained weights (vit-b16 only; downloads them)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--weights-dtype", choices=["f32", "f16"], default="f32")
    args = p.parse_args()
    if args.pretrained and args.config != "vit-b16":
        p.error("--pretrained exists for vit-b16 only")

    torch.manual_seed(args.seed)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    model = build(args.config, args.pretrained).eval()  # stays on the CPU, in float32
    check_structure(model, args.config)
    generator = torch.Generator().manual_seed(args.seed + 1)
    if not args.pretrained:
        randomize(model, generator)
    if args.weights_dtype == "f16":
        with torch.no_grad():
            for param in model.parameters():
                param.copy_(param.half().float())

    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    if args.weights_dtype == "f16":
        state = {k: v.half() for k, v in state.items()}
    os.makedirs(args.out, exist_ok=True)
    meta = {"format": "pt", "source": "timm " + timm.__version__, "config": args.config, "seed": str(args.seed),
            "pretrained": str(args.pretrained)}
    save_file(state, os.path.join(args.out, "weights.safetensors"), metadata=meta)

    size = CONFIGS[args.config]["img_size"]
    x = torch.randn((args.batch, 3, size, size), generator=generator)
    with torch.no_grad():
        logits = model(x)
    np.save(os.path.join(args.out, "input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(args.out, "logits.npy"), logits.numpy().astype(np.float32))
    manifest = {"timm": timm.__version__, "torch": torch.__version__, "config": args.config, **CONFIGS[args.config],
                "pretrained": args.pretrained, "batch": args.batch, "seed": args.seed, "weights_dtype": args.weights_dtype,
                "parameters": sum(v.numel() for v in state.values()), "tensors": len(state)}
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    print(json.dumps(manifest))


if __name__ == "__main__":
    main()

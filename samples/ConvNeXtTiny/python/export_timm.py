"""Exports a timm ConvNeXt for Fusion's parity tests (tests/Fusion.ConvNets.Tests) and the ConvNeXtTiny sample.

Writes, into --out:
  weights.safetensors  the state dict (float32, or float16 with --weights-dtype f16; the logits are then computed
                       from the same fp16-rounded weights, so the file and the logits agree exactly)
  input.npy            a batch of inputs, float32 [B, 3, S, S] drawn from N(0, 1) (like normalized images)
  logits.npy           timm's float32 logits for that batch, computed on the CPU
  manifest.json        what was exported (timm/torch versions, configuration, seed, dtype, tensor count)

Configurations, mirrored in C# (samples/ConvNeXtTiny/Model/ConvNeXtTiny.cs, tests/Fusion.ConvNets.Tests/ConvNeXtMini.cs):
  full  timm.create_model("convnext_tiny"): 224x224 images, depths 3/3/9/3, dims 96/192/384/768, 1000 classes
  mini  timm's ConvNeXt class built directly: 64x64 images, depths 2/1/2/1, dims 24/40/56/72, 10 classes (feature maps
        16, 8, 4 and 2 wide: the 7x7 depthwise convolution's padding covers most of each)

Weights are random and seeded (no download) unless --pretrained (full only: timm's convnext_tiny.fb_in1k ImageNet weights
from the Hugging Face hub, the tag whose eval transform, crop fraction 0.875, the sample uses; plain convnext_tiny would
load in12k_ft_in1k, evaluated at crop fraction 0.95). timm's own init leaves biases at 0, norm scales at 1 and the layer scales gamma at 1e-6, which switches every
block off; so every parameter is redrawn: convolutions (depthwise ones too) and Linear weights N(0, 1/fan-in), norm
scales and gamma N(1, 0.1), biases N(0, 0.1). Then each one matters to the logits and a layout mistake in Fusion shows.

  python3 export_timm.py --config mini --out /tmp/convnext-mini     # the mini model, for FUSION_CONVNEXT_PARITY_DIR
  python3 export_timm.py --out /tmp/convnext-t                      # ConvNeXt-T, random, for FUSION_CONVNEXT_PARITY_DIR
  python3 export_timm.py --out /tmp/convnext-t-in1k --pretrained    # timm's trained weights (for --weights)
"""
import argparse
import json
import os

import numpy as np
import timm
import torch
from safetensors.torch import save_file
from timm.models.convnext import ConvNeXt

CONFIGS = {
    "full": dict(img_size=224, depths=[3, 3, 9, 3], dims=[96, 192, 384, 768], num_classes=1000),
    "mini": dict(img_size=64, depths=[2, 1, 2, 1], dims=[24, 40, 56, 72], num_classes=10),
}


def build(config, pretrained):
    if config == "full":
        return timm.create_model("convnext_tiny.fb_in1k" if pretrained else "convnext_tiny", pretrained=pretrained)
    c = CONFIGS[config]
    return ConvNeXt(depths=c["depths"], dims=c["dims"], num_classes=c["num_classes"])


def expected_keys(c):
    """timm's state-dict keys and shapes for the configuration: what Fusion's ConvNeXt declares."""
    dims = c["dims"]
    keys = {"stem.0.weight": (dims[0], 3, 4, 4), "stem.0.bias": (dims[0],), "stem.1.weight": (dims[0],), "stem.1.bias": (dims[0],)}
    for s, (depth, dim) in enumerate(zip(c["depths"], dims)):
        if s > 0:
            p = f"stages.{s}.downsample."
            keys.update({p + "0.weight": (dims[s - 1],), p + "0.bias": (dims[s - 1],),
                         p + "1.weight": (dim, dims[s - 1], 2, 2), p + "1.bias": (dim,)})
        for i in range(depth):
            p = f"stages.{s}.blocks.{i}."
            keys.update({p + "gamma": (dim,), p + "conv_dw.weight": (dim, 1, 7, 7), p + "conv_dw.bias": (dim,),
                         p + "norm.weight": (dim,), p + "norm.bias": (dim,),
                         p + "mlp.fc1.weight": (4 * dim, dim), p + "mlp.fc1.bias": (4 * dim,),
                         p + "mlp.fc2.weight": (dim, 4 * dim), p + "mlp.fc2.bias": (dim,)})
    keys.update({"head.norm.weight": (dims[3],), "head.norm.bias": (dims[3],),
                 "head.fc.weight": (c["num_classes"], dims[3]), "head.fc.bias": (c["num_classes"],)})
    return keys


def check_structure(model, config):
    """The model is the one Fusion declares: same keys and shapes, LayerNorm eps 1e-6, erf GELU, channels-last MLP,
    7x7 depthwise convolutions padded by 3, the norm after the pool."""
    state = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    expected = expected_keys(CONFIGS[config])
    if state != expected:
        raise SystemExit(f"state dict differs from Fusion's ConvNeXt: missing {sorted(set(expected) - set(state))}, "
                         f"extra {sorted(set(state) - set(expected))}, "
                         f"shapes {[(k, state[k], expected[k]) for k in state if k in expected and state[k] != expected[k]]}")
    norms = [m for m in model.modules() if isinstance(m, torch.nn.LayerNorm)]  # timm's LayerNorm and LayerNorm2d too
    if not norms or any(m.eps != 1e-6 for m in norms):
        raise SystemExit(f"LayerNorm eps {sorted({m.eps for m in norms})}, Fusion's ConvNeXt uses 1e-6")
    for name, m in model.named_modules():
        kind = type(m).__name__
        if "GELU" in kind and (kind != "GELU" or getattr(m, "approximate", "none") != "none"):
            raise SystemExit(f"{name}: activation {kind}, Fusion's ConvNeXt uses GELU in its erf form")
        if name.endswith("conv_dw"):
            if type(m) is not torch.nn.Conv2d or m.kernel_size != (7, 7) or m.padding != (3, 3) or m.groups != m.in_channels:
                raise SystemExit(f"{name}: {m}: Fusion's ConvNeXt uses a depthwise nn.Conv2d, 7x7, padding 3")
    blocks = [m for m in model.modules() if type(m).__name__ == "ConvNeXtBlock"]
    if any(b.use_conv_mlp or not isinstance(getattr(b, "shortcut", torch.nn.Identity()), torch.nn.Identity) for b in blocks):
        raise SystemExit("a block uses the conv MLP or a shortcut projection: Fusion's ConvNeXt has neither")
    if not isinstance(model.norm_pre, torch.nn.Identity) or model.head.global_pool.pool_type != "avg":
        raise SystemExit("the head normalizes before pooling or does not average: Fusion's pools, then normalizes")


def randomize(model, generator):
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.ndim >= 2:  # convolutions [out, in/groups, k, k] (depthwise: fan-in k*k) and Linear weights [out, in]
                param.normal_(0.0, param[0].numel() ** -0.5, generator=generator)
            elif name.endswith(".weight") or name.endswith(".gamma"):  # norm scales and layer scales
                param.normal_(1.0, 0.1, generator=generator)
            else:  # biases
                param.normal_(0.0, 0.1, generator=generator)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--config", choices=sorted(CONFIGS), default="full")
    p.add_argument("--pretrained", action="store_true", help="timm's trained weights (full only; downloads them)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--weights-dtype", choices=["f32", "f16"], default="f32")
    args = p.parse_args()
    if args.pretrained and args.config != "full":
        p.error("--pretrained exists for the full ConvNeXt-T only")

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
    manifest = {"model": "convnext", "timm": timm.__version__, "torch": torch.__version__, "config": args.config,
                **CONFIGS[args.config], "pretrained": args.pretrained, "batch": args.batch, "seed": args.seed,
                "weights_dtype": args.weights_dtype, "parameters": sum(v.numel() for v in state.values()), "tensors": len(state)}
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    print(json.dumps(manifest))


if __name__ == "__main__":
    main()

"""Exports a randomly initialized timm Swin model for Fusion's parity tests (no download: random init).

Writes, into --out:
  weights.safetensors  the state dict (float32, or float16 with --weights-dtype f16; the logits are then computed
                       from the same fp16-rounded weights, so the file and the logits agree exactly)
  input.npy            a batch of inputs, float32 [B, 3, 224, 224] drawn from N(0, 1) (like normalized images)
  logits.npy           timm's float32 logits for that batch, computed on the CPU (no TF32)
  manifest.json        what was exported (timm/torch versions, model arguments, seed)

The timm initialization leaves biases at 0 and norms at 1; every parameter gets seeded noise on top so that
each one matters to the result, and the relative position tables get a spread large enough to shape attention.

  python3 export_timm.py --out /tmp/swin-t                                   # Swin-T, batch 64
  python3 export_timm.py --out fixture --embed-dim 24 --heads 1 2 4 8 --depths 2 2 2 2 --classes 10 --batch 2 --weights-dtype f16
"""
import argparse
import json
import os

import numpy as np
import timm
import torch
from safetensors.torch import save_file


def create_model(name, embed_dim, depths, heads, classes, seed, weights_dtype):
    """timm's model with seeded noise on every parameter (relative position tables spread wider), in eval mode, and the
    generator that drew the noise (the input draws continue from it)."""
    torch.manual_seed(seed)
    model = timm.create_model(name, pretrained=False, embed_dim=embed_dim, depths=tuple(depths),
                              num_heads=tuple(heads), num_classes=classes).eval()
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for pname, param in model.named_parameters():
            if pname.endswith("relative_position_bias_table"):
                param.normal_(0.0, 0.5, generator=generator)
            else:
                param.add_(torch.randn(param.shape, generator=generator) * 0.02)
            if weights_dtype == "f16":
                param.copy_(param.half().float())
    return model, generator


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--model", default="swin_tiny_patch4_window7_224")
    p.add_argument("--embed-dim", type=int, default=96)
    p.add_argument("--depths", type=int, nargs=4, default=[2, 2, 6, 2])
    p.add_argument("--heads", type=int, nargs=4, default=[3, 6, 12, 24])
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--weights-dtype", choices=["f32", "f16"], default="f32")
    args = p.parse_args()

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    model, generator = create_model(args.model, args.embed_dim, args.depths, args.heads, args.classes, args.seed, args.weights_dtype)

    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    if args.weights_dtype == "f16":
        state = {k: v.half() for k, v in state.items()}
    os.makedirs(args.out, exist_ok=True)
    meta = {"format": "pt", "source": "timm " + timm.__version__, "model": args.model, "seed": str(args.seed)}
    save_file(state, os.path.join(args.out, "weights.safetensors"), metadata=meta)

    x = torch.randn((args.batch, 3, 224, 224), generator=generator)
    with torch.no_grad():
        logits = model(x)
    np.save(os.path.join(args.out, "input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(args.out, "logits.npy"), logits.numpy().astype(np.float32))
    manifest = {"timm": timm.__version__, "torch": torch.__version__, "model": args.model, "embed_dim": args.embed_dim,
                "depths": args.depths, "heads": args.heads, "classes": args.classes, "batch": args.batch,
                "seed": args.seed, "weights_dtype": args.weights_dtype, "parameters": sum(v.numel() for v in state.values())}
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    print(json.dumps(manifest))


if __name__ == "__main__":
    main()

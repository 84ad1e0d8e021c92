"""Exports what the INT8 accuracy test needs: a timm Swin-T, a calibration set and an evaluation set of images with
structure, and timm's float32 logits of the evaluation set.

Writes, into --out:
  weights.safetensors  the state dict (float32), initialized as export_timm.py does (random init plus seeded noise)
  calib.npy            --calib images, float32 [n, 3, 224, 224], normalized with ImageNet's mean and std
  eval.npy             --eval other images, the same way
  eval_logits.npy      timm's float32 logits of eval.npy (no TF32)
  manifest.json        what was exported

No download is possible on the GPU machine, so the images are synthetic but not noise: each is a smooth random field (a
few low-frequency waves per channel) with random rectangles and discs in solid colours and a brightness gradient, so
neighbouring pixels correlate as in photographs and the activations have the outliers edges give.

  python3 export_int8_eval.py --out /tmp/int8-eval            # Swin-T, 256 + 256 images
"""
import argparse
import json
import os

import numpy as np
import torch
from safetensors.torch import save_file

from export_timm import create_model

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)[:, None, None]
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)[:, None, None]


def synthetic_images(rng, count, size=224):
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size
    images = np.empty((count, 3, size, size), dtype=np.float32)
    for n in range(count):
        img = np.zeros((3, size, size), dtype=np.float32)
        for c in range(3):
            for _ in range(4):  # smooth field: a few waves of random direction, frequency and phase
                fx, fy = rng.uniform(-6, 6, size=2)
                img[c] += rng.uniform(0.05, 0.25) * np.sin(2 * np.pi * (fx * xs + fy * ys) + rng.uniform(0, 2 * np.pi))
        img += 0.5 + rng.uniform(-0.3, 0.3) * (xs if rng.random() < 0.5 else ys)  # brightness gradient
        for _ in range(rng.integers(2, 7)):  # solid shapes: edges and flat regions
            colour = rng.uniform(0, 1, size=3).astype(np.float32)[:, None, None]
            cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.3)
            if rng.random() < 0.5:
                mask = (np.abs(xs - cx) < r) & (np.abs(ys - cy) < r * rng.uniform(0.3, 1.5))
            else:
                mask = (xs - cx) ** 2 + (ys - cy) ** 2 < r * r
            img = np.where(mask[None], colour, img)
        img = np.clip(img + rng.normal(0, 0.02, size=img.shape).astype(np.float32), 0, 1)
        images[n] = (img - MEAN) / STD
    return images


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--calib", type=int, default=256)
    p.add_argument("--eval", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    model, _ = create_model("swin_tiny_patch4_window7_224", 96, [2, 2, 6, 2], [3, 6, 12, 24], 1000, args.seed, "f32")
    os.makedirs(args.out, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(args.out, "weights.safetensors"), metadata={"format": "pt", "seed": str(args.seed)})

    rng = np.random.default_rng(args.seed + 100)
    calib = synthetic_images(rng, args.calib)
    evaluation = synthetic_images(rng, args.eval)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = model.to(device)
    logits = []
    with torch.no_grad():
        for start in range(0, len(evaluation), 32):
            logits.append(model(torch.from_numpy(evaluation[start:start + 32]).to(device)).float().cpu().numpy())
    np.save(os.path.join(args.out, "calib.npy"), calib)
    np.save(os.path.join(args.out, "eval.npy"), evaluation)
    np.save(os.path.join(args.out, "eval_logits.npy"), np.concatenate(logits).astype(np.float32))
    manifest = {"model": "swin_tiny_patch4_window7_224", "seed": args.seed, "calib": args.calib, "eval": args.eval,
                "logits_device": device, "torch": torch.__version__}
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    print(json.dumps(manifest))


if __name__ == "__main__":
    main()

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

With --train-steps N the model is first trained for N steps on a task those images define (60 classes: how many shapes,
the largest one's kind and its strongest colour channel, the gradient's axis; a pool of --train-pool images drawn apart
from the calibration and evaluation sets). A random-init network's logits sit close together, so a few images flip their
top-1 under any 8-bit rounding; a trained one decides with margins, as the checkpoints the issue has in mind do (none can be
downloaded there). The manifest records the steps, the final loss, the task accuracy on the evaluation images and the
logits' median top-1 margin, so a table says which kind of model it measured.

  python3 export_int8_eval.py --out /tmp/int8-eval                      # Swin-T, random init, 256 + 256 images
  python3 export_int8_eval.py --out /tmp/int8-trained --train-steps 600 # the same, trained on the synthetic task first
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from export_timm import create_model

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)[:, None, None]
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)[:, None, None]


TASK_CLASSES = 60  # 5 shape counts x 2 kinds x 3 channels x 2 gradient axes


def task_label(shapes, largest_is_rect, largest_colour, gradient_on_x):
    """The synthetic task's class of an image, from what drew it: shapes 2..6, the largest shape's kind and strongest channel,
    the gradient's axis."""
    return (((shapes - 2) * 2 + int(largest_is_rect)) * 3 + int(np.argmax(largest_colour))) * 2 + int(gradient_on_x)


def synthetic_images(rng, count, size=224):
    """count images [count, 3, size, size] (normalized) and their task labels [count]. The draws are those of the first version,
    in the same order, so a seed gives the same images as before the labels existed."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size
    images = np.empty((count, 3, size, size), dtype=np.float32)
    labels = np.empty(count, dtype=np.int64)
    for n in range(count):
        img = np.zeros((3, size, size), dtype=np.float32)
        for c in range(3):
            for _ in range(4):  # smooth field: a few waves of random direction, frequency and phase
                fx, fy = rng.uniform(-6, 6, size=2)
                img[c] += rng.uniform(0.05, 0.25) * np.sin(2 * np.pi * (fx * xs + fy * ys) + rng.uniform(0, 2 * np.pi))
        gradient, gradient_on_x = rng.uniform(-0.3, 0.3), rng.random() < 0.5  # drawn in this order, as before
        img += 0.5 + gradient * (xs if gradient_on_x else ys)  # brightness gradient
        shapes = rng.integers(2, 7)
        largest = (-1.0, False, None)  # (area, is a rectangle, colour)
        for _ in range(shapes):  # solid shapes: edges and flat regions
            colour = rng.uniform(0, 1, size=3).astype(np.float32)[:, None, None]
            cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.3)
            if rng.random() < 0.5:
                aspect = rng.uniform(0.3, 1.5)
                mask = (np.abs(xs - cx) < r) & (np.abs(ys - cy) < r * aspect)
                area = 4 * r * r * aspect
                rect = True
            else:
                mask = (xs - cx) ** 2 + (ys - cy) ** 2 < r * r
                area = np.pi * r * r
                rect = False
            if area > largest[0]:
                largest = (area, rect, colour[:, 0, 0])
            img = np.where(mask[None], colour, img)
        img = np.clip(img + rng.normal(0, 0.02, size=img.shape).astype(np.float32), 0, 1)
        images[n] = (img - MEAN) / STD
        labels[n] = task_label(int(shapes), largest[1], largest[2], gradient_on_x)
    return images, labels


def train(model, images, labels, steps, batch, device, seed):
    """AdamW with a one-cycle schedule on random batches of the pool, bf16 autocast on the GPU; returns the last 20 steps' mean loss."""
    generator = torch.Generator().manual_seed(seed + 300)
    model.train().to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.05)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=5e-4, total_steps=steps, pct_start=0.1)
    x_all, y_all = torch.from_numpy(images), torch.from_numpy(labels)
    losses = []
    for step in range(steps):
        pick = torch.randint(0, len(images), (batch,), generator=generator)
        x, y = x_all[pick].to(device), y_all[pick].to(device)
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
            loss = F.cross_entropy(model(x).float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        if step % 100 == 0 or step == steps - 1:
            print(f"train step {step}: loss {loss.item():.3f}", flush=True)
    model.eval()
    return float(np.mean(losses[-20:]))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--calib", type=int, default=256)
    p.add_argument("--eval", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-steps", type=int, default=0, help="train on the synthetic task first (0: random init, as before)")
    p.add_argument("--train-pool", type=int, default=2048, help="images the training draws its batches from")
    p.add_argument("--train-batch", type=int, default=64)
    args = p.parse_args()
    if args.train_steps < 0 or args.train_pool < 1 or args.train_batch < 1:
        p.error("--train-steps must be >= 0, --train-pool and --train-batch >= 1")

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    model, _ = create_model("swin_tiny_patch4_window7_224", 96, [2, 2, 6, 2], [3, 6, 12, 24], 1000, args.seed, "f32")
    os.makedirs(args.out, exist_ok=True)
    device = "cuda" if torch.cuda.is_available() else "cpu"

    rng = np.random.default_rng(args.seed + 100)
    calib, _ = synthetic_images(rng, args.calib)
    evaluation, eval_labels = synthetic_images(rng, args.eval)
    training = {"steps": args.train_steps}
    if args.train_steps > 0:
        pool, pool_labels = synthetic_images(np.random.default_rng(args.seed + 200), args.train_pool)
        training.update(pool=args.train_pool, batch=args.train_batch, classes=TASK_CLASSES,
                        final_loss=round(train(model, pool, pool_labels, args.train_steps, args.train_batch, device, args.seed), 4))
        del pool
    model = model.to(device).eval()
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}  # the buffers keep their dtypes
    save_file(state, os.path.join(args.out, "weights.safetensors"),
              metadata={"format": "pt", "seed": str(args.seed), "train_steps": str(args.train_steps)})

    logits = []
    with torch.no_grad():
        for start in range(0, len(evaluation), 32):
            logits.append(model(torch.from_numpy(evaluation[start:start + 32]).to(device)).float().cpu().numpy())
    logits = np.concatenate(logits).astype(np.float32)
    top2 = np.sort(logits, axis=1)[:, -2:]
    training["eval_task_accuracy"] = round(float(np.mean(np.argmax(logits, axis=1) == eval_labels)), 4)
    training["median_top1_margin"] = round(float(np.median(top2[:, 1] - top2[:, 0])), 4)
    np.save(os.path.join(args.out, "calib.npy"), calib)
    np.save(os.path.join(args.out, "eval.npy"), evaluation)
    np.save(os.path.join(args.out, "eval_logits.npy"), logits)
    manifest = {"model": "swin_tiny_patch4_window7_224", "seed": args.seed, "calib": args.calib, "eval": args.eval,
                "logits_device": device, "torch": torch.__version__, "training": training}
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    print(json.dumps(manifest))


if __name__ == "__main__":
    main()

"""How often PyTorch's own fp16 forward agrees with its fp32 logits on an export (samples/*/python/export_*.py): the top-1
agreement and relative L2 an fp16 engine can expect on those weights and inputs, beside Fusion's (Fusion.ConvNets.Tests).
  python3 bench/torch/fp16_agreement.py --export /tmp/cnx --model convnext_tiny      # timm model name, or resnet50 (torchvision)
"""
import argparse

import numpy as np
import torch
from safetensors.torch import load_file


def build(name):
    if name == "resnet50":
        import torchvision
        return torchvision.models.resnet50()
    import timm
    return timm.create_model(name, pretrained=False)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--export", required=True)
    p.add_argument("--model", required=True)
    args = p.parse_args()
    model = build(args.model).eval()
    state = load_file(f"{args.export}/weights.safetensors")
    missing, unexpected = model.load_state_dict(state, strict=False)
    if [k for k in missing if not k.endswith("num_batches_tracked")] or unexpected:
        raise SystemExit(f"weights do not fit {args.model}: missing {missing}, unexpected {unexpected}")
    x = torch.from_numpy(np.load(f"{args.export}/input.npy"))
    reference = torch.from_numpy(np.load(f"{args.export}/logits.npy")).double()
    with torch.inference_mode():
        half = model.cuda().half().to(memory_format=torch.channels_last)(x.cuda().half().to(memory_format=torch.channels_last)).double().cpu()
    l2 = ((half - reference).norm() / reference.norm()).item()
    agree = (half.argmax(1) == reference.argmax(1)).sum().item()
    top2 = reference.topk(2, dim=1).values
    margin = ((top2[:, 0] - top2[:, 1]) / reference.std(dim=1)).numpy()
    print(f"{args.model} PyTorch fp16 (GPU) vs fp32 export: top-1 {agree} of {len(reference)}, relative L2 {l2:.2e}; "
          f"top-1 margins (in logit std): min {margin.min():.3f}, median {np.median(margin):.3f}, below 0.05: {(margin < 0.05).sum()}")


if __name__ == "__main__":
    main()

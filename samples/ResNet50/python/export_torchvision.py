"""Exports a torchvision ResNet for Fusion's parity tests (tests/Fusion.ConvNets.Tests) and the ResNet50 sample.

Writes, into --out:
  weights.safetensors  the state dict without num_batches_tracked (an int64 counter that only training reads): float32,
                       or float16 with --weights-dtype f16 (the logits are then computed from the same fp16-rounded
                       weights, so the file and the logits agree exactly)
  input.npy            a batch of inputs, float32 [B, 3, S, S] drawn from N(0, 1) (like normalized images)
  logits.npy           torchvision's float32 logits for that batch, in eval mode (running statistics), on the CPU
  manifest.json        what was exported (torch/torchvision versions, configuration, seed, dtype, tensor count)

Configurations, mirrored in C# (samples/ResNet50/Model/ResNet50.cs, tests/Fusion.ConvNets.Tests/ResNetMini.cs):
  full  torchvision.models.resnet50(): 224x224 images, bottleneck stages of 3/4/6/3 blocks, widths 64/128/256/512, 1000 classes
  mini  torchvision's ResNet and Bottleneck at 40x40 images, stem width 16, stages of 2/1/2/1 blocks, widths 8/16/24/32,
        10 classes (odd feature-map sizes 20, 10, 5, 3, 2 exercise every padding edge)

Weights are random and seeded (no download) unless --pretrained (full only: torchvision's IMAGENET1K_V1 weights, whose
eval transform is the sample's resize 256 / crop 224). torchvision's own init leaves batch norm as the identity (scale 1,
shift 0, running mean 0, running variance 1), so a mistake there would not show; every tensor is redrawn instead:
convolutions and the classifier N(0, 1/fan-in), norm scales N(1, 0.1), shifts and running means N(0, 0.1), running
variances uniform in [0.5, 1.5].

  python3 export_torchvision.py --config mini --out /tmp/resnet-mini     # the mini model, for FUSION_RESNET_PARITY_DIR
  python3 export_torchvision.py --out /tmp/resnet50                      # ResNet-50, random, for FUSION_RESNET_PARITY_DIR
  python3 export_torchvision.py --out /tmp/resnet50-in1k --pretrained    # torchvision's trained weights (for --weights)
"""
import argparse
import json
import os

import numpy as np
import torch
import torchvision
from safetensors.torch import save_file
from torch import nn
from torchvision.models.resnet import Bottleneck, ResNet

CONFIGS = {
    "full": dict(img_size=224, stem_width=64, blocks=[3, 4, 6, 3], widths=[64, 128, 256, 512], num_classes=1000),
    "mini": dict(img_size=40, stem_width=16, blocks=[2, 1, 2, 1], widths=[8, 16, 24, 32], num_classes=10),
}


def build(config, pretrained):
    c = CONFIGS[config]
    if config == "full":
        weights = torchvision.models.ResNet50_Weights.IMAGENET1K_V1 if pretrained else None
        return torchvision.models.resnet50(weights=weights)
    # torchvision fixes the stem at 64 channels and the stage widths at 64..512: the narrower stages are built by its
    # own ResNet._make_layer (same Bottleneck, same downsample rule), on a ResNet whose stem is replaced first.
    model = ResNet(Bottleneck, c["blocks"], num_classes=c["num_classes"])
    model.inplanes = c["stem_width"]
    model.conv1 = nn.Conv2d(3, c["stem_width"], kernel_size=7, stride=2, padding=3, bias=False)
    model.bn1 = nn.BatchNorm2d(c["stem_width"])
    for i, (width, count) in enumerate(zip(c["widths"], c["blocks"])):
        setattr(model, f"layer{i + 1}", model._make_layer(Bottleneck, width, count, stride=1 if i == 0 else 2))
    model.fc = nn.Linear(c["widths"][3] * Bottleneck.expansion, c["num_classes"])
    return model


def expected_keys(c):
    """torchvision's state-dict keys and shapes (num_batches_tracked left out): what Fusion's ResNet declares."""
    keys = {}

    def conv(name, out_ch, in_ch, k):
        keys[name + ".weight"] = (out_ch, in_ch, k, k)

    def bn(name, ch):
        for p in ("weight", "bias", "running_mean", "running_var"):
            keys[f"{name}.{p}"] = (ch,)

    conv("conv1", c["stem_width"], 3, 7)
    bn("bn1", c["stem_width"])
    in_ch = c["stem_width"]
    for s, (width, count) in enumerate(zip(c["widths"], c["blocks"])):
        out_ch = width * 4
        for i in range(count):
            p = f"layer{s + 1}.{i}."
            conv(p + "conv1", width, in_ch, 1)
            bn(p + "bn1", width)
            conv(p + "conv2", width, width, 3)
            bn(p + "bn2", width)
            conv(p + "conv3", out_ch, width, 1)
            bn(p + "bn3", out_ch)
            stride = 2 if s > 0 and i == 0 else 1
            if stride != 1 or in_ch != out_ch:
                conv(p + "downsample.0", out_ch, in_ch, 1)
                bn(p + "downsample.1", out_ch)
            in_ch = out_ch
    keys["fc.weight"] = (c["num_classes"], in_ch)
    keys["fc.bias"] = (c["num_classes"],)
    return keys


def float_state(model):
    """The state dict without integer buffers (num_batches_tracked): Fusion has no parameter for them."""
    return {k: v for k, v in model.state_dict().items() if v.is_floating_point()}


def check_structure(model, config):
    """The model is the one Fusion declares: same keys and shapes, BN eps 1e-5, v1.5 strides, max pool 3/2/1."""
    state = {k: tuple(v.shape) for k, v in float_state(model).items()}
    expected = expected_keys(CONFIGS[config])
    if state != expected:
        raise SystemExit(f"state dict differs from Fusion's ResNet: missing {sorted(set(expected) - set(state))}, "
                         f"extra {sorted(set(state) - set(expected))}, "
                         f"shapes {[(k, state[k], expected[k]) for k in state if k in expected and state[k] != expected[k]]}")
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    if any(m.eps != 1e-5 for m in norms):
        raise SystemExit(f"BatchNorm eps {sorted({m.eps for m in norms})}, Fusion's ResNet uses 1e-5")
    for name, m in model.named_modules():
        if isinstance(m, Bottleneck):
            strides = (m.conv1.stride, m.conv2.stride, m.conv3.stride)
            if strides[0] != (1, 1) or strides[2] != (1, 1) or m.conv2.padding != (1, 1) or m.conv2.dilation != (1, 1):
                raise SystemExit(f"{name}: strides {strides}, conv2 padding {m.conv2.padding}: Fusion's Bottleneck is v1.5 "
                                 "(stride on the 3x3 convolution, padding 1, no dilation)")
    pool = model.maxpool
    if (pool.kernel_size, pool.stride, pool.padding, pool.ceil_mode) != (3, 2, 1, False):
        raise SystemExit(f"max pool {pool}: Fusion's ResNet uses kernel 3, stride 2, padding 1, floor mode")


def randomize(model, generator):
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.weight.normal_(0.0, module.weight[0].numel() ** -0.5, generator=generator)
                if module.bias is not None:
                    module.bias.normal_(0.0, 0.1, generator=generator)
            elif isinstance(module, nn.BatchNorm2d):
                module.weight.normal_(1.0, 0.1, generator=generator)
                module.bias.normal_(0.0, 0.1, generator=generator)
                module.running_mean.normal_(0.0, 0.1, generator=generator)
                module.running_var.uniform_(0.5, 1.5, generator=generator)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--config", choices=sorted(CONFIGS), default="full")
    p.add_argument("--pretrained", action="store_true", help="torchvision's IMAGENET1K_V1 weights (full only; downloads them)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--weights-dtype", choices=["f32", "f16"], default="f32")
    args = p.parse_args()
    if args.pretrained and args.config != "full":
        p.error("--pretrained exists for the full ResNet-50 only")

    torch.manual_seed(args.seed)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    model = build(args.config, args.pretrained).eval()  # stays on the CPU, in float32; eval: BN uses running statistics
    check_structure(model, args.config)
    generator = torch.Generator().manual_seed(args.seed + 1)
    if not args.pretrained:
        randomize(model, generator)
    if args.weights_dtype == "f16":
        with torch.no_grad():
            for tensor in float_state(model).values():  # parameters and running statistics alike
                tensor.copy_(tensor.half().float())

    state = {k: v.detach().contiguous() for k, v in float_state(model).items()}
    if args.weights_dtype == "f16":
        state = {k: v.half() for k, v in state.items()}
    os.makedirs(args.out, exist_ok=True)
    meta = {"format": "pt", "source": "torchvision " + torchvision.__version__, "config": args.config, "seed": str(args.seed),
            "pretrained": str(args.pretrained)}
    save_file(state, os.path.join(args.out, "weights.safetensors"), metadata=meta)

    size = CONFIGS[args.config]["img_size"]
    x = torch.randn((args.batch, 3, size, size), generator=generator)
    with torch.no_grad():
        logits = model(x)
    np.save(os.path.join(args.out, "input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(args.out, "logits.npy"), logits.numpy().astype(np.float32))
    manifest = {"model": "resnet", "torchvision": torchvision.__version__, "torch": torch.__version__, "config": args.config,
                **CONFIGS[args.config], "pretrained": args.pretrained, "batch": args.batch, "seed": args.seed,
                "weights_dtype": args.weights_dtype, "parameters": sum(v.numel() for v in state.values()), "tensors": len(state)}
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    print(json.dumps(manifest))


if __name__ == "__main__":
    main()

"""PyTorch references for the fused Swin kernels (bench/Fusion.Bench --fused): the unfused timm-style
sequences they replace, fp16, Swin-T stage 1 at batch 64 (x [64, 56, 56, 96], window 7, shift 3,
3 heads of 32, 64 windows per image), eager and through torch.compile (Inductor generates one Triton
kernel per fused chain, as Fusion's generator does; default mode, no CUDA graphs, so single calls are timed).

Same method as bench/Fusion.Bench: CUDA events around each call, 10 warm-up calls, median of 100,
three rotating random input sets. Each timed call starts from the same tensors the fused kernel reads
and ends with the same tensor it writes (contiguous), so layout copies are part of the sequence.
"""
import torch
import torch.nn.functional as F

from bias_residual import median_us

B, H, W, C, WS, SHIFT, HEADS, D = 64, 56, 56, 96, 7, 3, 3, 32
NW, N = (H // WS) * (W // WS), WS * WS


def partition(x):
    b, h, w, c = x.shape
    x = x.view(b, h // WS, WS, w // WS, WS, c).permute(0, 1, 3, 2, 4, 5).contiguous()
    return x.view(-1, WS * WS, c)


def reverse(windows):
    x = windows.view(B, H // WS, W // WS, WS, WS, C).permute(0, 1, 3, 2, 4, 5).contiguous()
    return x.view(B, H, W, C)


def ln_roll_partition(x, norm):
    return partition(torch.roll(norm(x), shifts=(-SHIFT, -SHIFT), dims=(1, 2)))


def reverse_roll_add(windows, shortcut):
    return shortcut + torch.roll(reverse(windows), shifts=(SHIFT, SHIFT), dims=(1, 2))


def bias_residual(x, shortcut, bias):
    return x + bias + shortcut


def reverse_roll_add_norm(windows, shortcut, norm):
    s = reverse_roll_add(windows, shortcut)
    return norm(s), s


def attention_timm(qkv, bias, mask, scale):
    b_ = qkv.shape[0]
    q, k, v = qkv.reshape(b_, N, 3, HEADS, D).permute(2, 0, 3, 1, 4).unbind(0)
    attn = (q * scale) @ k.transpose(-2, -1)
    attn = attn + bias.unsqueeze(0)
    attn = attn.view(b_ // NW, NW, HEADS, N, N) + mask.unsqueeze(1).unsqueeze(0)
    attn = attn.view(-1, HEADS, N, N).softmax(dim=-1)
    return (attn @ v).transpose(1, 2).reshape(b_, N, HEADS * D)


def attention_sdpa(qkv, additive, scale):
    b_ = qkv.shape[0]
    q, k, v = qkv.reshape(b_ // NW, NW, N, 3, HEADS, D).permute(3, 0, 1, 4, 2, 5).unbind(0)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=additive, scale=scale)  # [B, nW, heads, N, D]
    return out.permute(0, 1, 3, 2, 4).reshape(b_, N, HEADS * D)


def main():
    torch.manual_seed(0)
    dev, f16 = "cuda", torch.float16
    rnd = lambda *shape: torch.rand(shape, device=dev, dtype=f16) * 2 - 1
    images = [(rnd(B, H, W, C), rnd(B, H, W, C)) for _ in range(3)]
    windows = [(rnd(B * NW, N, C), images[i][1]) for i in range(3)]
    qkvs = [(rnd(B * NW, N, 3 * HEADS * D),) for _ in range(3)]
    norm = torch.nn.LayerNorm(C, eps=1e-5).to(dev, f16)
    bias = rnd(HEADS, N, N) * 2
    mask = torch.where(torch.rand(NW, N, N, device=dev) < 0.25, -100.0, 0.0).to(f16)
    additive = (bias.unsqueeze(0) + mask.unsqueeze(1)).contiguous()  # [nW, heads, N, N], broadcast over B
    scale = D ** -0.5
    tensor = B * H * W * C * 2

    ref = attention_timm(qkvs[0][0].float(), bias.float(), mask.float(), scale)
    err = (attention_sdpa(qkvs[0][0], additive, scale).float() - ref).abs().max().item()
    assert err < 1e-2, f"sdpa differs from timm's math by {err}"

    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    chan_bias = rnd(C)
    compiled = lambda f: torch.compile(f, dynamic=False)
    c_bias_residual = compiled(bias_residual)
    c_ln = compiled(ln_roll_partition)
    c_reverse = compiled(reverse_roll_add)
    c_reverse_norm = compiled(reverse_roll_add_norm)
    rows = [
        ("bias + residual, eager", lambda x, r: bias_residual(x, r, chan_bias), images, 3 * tensor),
        ("bias + residual, torch.compile", lambda x, r: c_bias_residual(x, r, chan_bias), images, 3 * tensor),
        ("LN -> roll -> partition", lambda x, r: ln_roll_partition(x, norm), images, 2 * tensor),
        ("LN -> roll -> partition, torch.compile", lambda x, r: c_ln(x, norm), images, 2 * tensor),
        ("reverse -> roll -> add", reverse_roll_add, windows, 3 * tensor),
        ("reverse -> roll -> add, torch.compile", c_reverse, windows, 3 * tensor),
        ("reverse -> roll -> add -> LN (2 outputs), torch.compile", lambda w, r: c_reverse_norm(w, r, norm), windows, 4 * tensor),
        ("window attention, timm math", lambda q: attention_timm(q, bias, mask, scale), qkvs, 4 * tensor),
        ("window attention, SDPA + additive mask", lambda q: attention_sdpa(q, additive, scale), qkvs, 4 * tensor),
    ]
    with torch.no_grad():
        big = torch.empty(1 << 29, device=dev, dtype=f16)
        dst = torch.empty_like(big)
        copy_us = median_us(lambda a, b: b.copy_(a), [(big, dst)], warmup=3, iters=20)
        copy_gbs = 2 * big.numel() * 2 / copy_us / 1e3
        print(f"torch copy_ of 1 GiB: median {copy_us:.1f} us, {copy_gbs:.0f} GB/s")
        print("| unfused sequence | median | fused-kernel floor (bytes at the 1 GiB copy rate) |")
        print("| --- | --- | --- |")
        for name, fn, sets, nbytes in rows:
            t = median_us(fn, sets)
            print(f"| {name} | {t:.1f} us | {nbytes / copy_gbs / 1e3:.1f} us |")


if __name__ == "__main__":
    main()

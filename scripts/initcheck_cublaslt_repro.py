# Does compute-sanitizer's initcheck see what cuBLASLt's Hopper GEMM kernels (nvjet_*, TMA stores) write?
# A GEMM's output read by an ordinary elementwise kernel, against the same read of a tensor an elementwise kernel wrote.
import torch
a = torch.randn(3 * 3136, 96, device="cuda", dtype=torch.half)
w = torch.randn(96, 288, device="cuda", dtype=torch.half)
gemm_out = a @ w                 # cuBLASLt on sm_90
from_gemm = gemm_out + 1         # reads the GEMM's output
plain = a * 2                    # written by an elementwise kernel
from_plain = plain + 1           # reads it
torch.cuda.synchronize()
print("ok", float(from_gemm.float().abs().mean()), float(from_plain.float().abs().mean()))

"""Prints timm's swin_tiny_patch4_window7_224 structure: version, state-dict keys and shapes, and the forward code
of the modules Fusion mirrors (for checking the C# declaration against the timm installed here)."""
import inspect
import timm
import torch
from timm.models import swin_transformer as st

m = timm.create_model("swin_tiny_patch4_window7_224", pretrained=False)
print("timm", timm.__version__, "torch", torch.__version__)
for k, v in m.state_dict().items():
    print(k, tuple(v.shape), str(v.dtype))
print("=== buffers (non-persistent excluded from state_dict) ===")
for k, v in m.named_buffers():
    print(k, tuple(v.shape))
for obj in [st.SwinTransformer.forward_features, st.SwinTransformer.forward_head, st.SwinTransformerStage.forward,
            st.PatchMerging.forward, st.SwinTransformerBlock.forward, st.SwinTransformerBlock._attn]:
    print("=== ", obj.__qualname__)
    print(inspect.getsource(obj))
print(m.head)
print(m.patch_embed)

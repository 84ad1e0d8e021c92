#!/usr/bin/env python3
"""Moves a safetensors weight file from the GPU machine to one without numpy or torch, inside the device tool's limits on what
comes back (files of at most 16 MiB, 64 MiB in all).

    weight_shards.py split WEIGHTS.safetensors OUT     (GPU machine, numpy): the float32 tensors as float16 (Swin-T: 57 MB), in
                                                       OUT/w0.npz, w1.npz, … of at most 16.5 MB each, and OUT/weights_index.json
    weight_shards.py join DIR WEIGHTS.safetensors      (here, Python alone): the shards back into one safetensors file, F16
                                                       (Fusion reads F16 weights into its float32 parameters)

Rounding the weights to float16 moves a Swin-T's logits by about 1e-3 relative L2: fine for choosing an int8 keep-list
(`fusion-run sensitivity`), not for a parity test against the exporter's logits.
"""
import ast
import json
import os
import struct
import sys
import zipfile

LIMIT = 16_500_000  # bytes of tensors a shard: under the 16 MiB a file may have, with room for the .npz's headers


def split(weights, out):
    import numpy as np
    from safetensors.numpy import load_file

    state = load_file(weights)
    os.makedirs(out, exist_ok=True)
    # First fit, largest first: Swin-T's 57 MB in four shards (the device tool brings back eight files at most).
    shards, index = [], {}
    for i, key in sorted(enumerate(sorted(state)), key=lambda ik: -state[ik[1]].nbytes):
        value = state[key]
        half = value.astype(np.float16) if value.dtype == np.float32 else value
        target = next((s for s in shards if s["size"] + half.nbytes <= LIMIT), None)
        if target is None:
            target = {"size": 0, "tensors": {}}
            shards.append(target)
        target["tensors"][f"t{i}"] = half  # npz member names: the keys' dots would be read as extensions
        target["size"] += half.nbytes
        index[f"t{i}"] = key
    for n, shard in enumerate(shards):
        np.savez(os.path.join(out, f"w{n}.npz"), **shard["tensors"])
    json.dump({"shards": len(shards), "names": index}, open(os.path.join(out, "weights_index.json"), "w"), indent=1)
    print(f"{len(index)} tensors in {len(shards)} shards of {', '.join(str(s['size']) for s in shards)} bytes")


DTYPES = {"<f2": "F16", "<f4": "F32", "<i8": "I64", "<i4": "I32", "|u1": "U8", "|b1": "BOOL"}


def read_npy(data):
    if data[:6] != b"\x93NUMPY":
        sys.exit("not a .npy member")
    major = data[6]
    header_len = struct.unpack("<H" if major == 1 else "<I", data[8:10] if major == 1 else data[8:12])[0]
    start = 10 if major == 1 else 12
    header = ast.literal_eval(data[start:start + header_len].decode("latin1"))
    if header["fortran_order"]:
        sys.exit("fortran-ordered array")
    return DTYPES[header["descr"]], list(header["shape"]), data[start + header_len:]


def join(folder, weights):
    index = json.load(open(os.path.join(folder, "weights_index.json")))["names"]
    tensors = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".npz"):
            with zipfile.ZipFile(os.path.join(folder, name)) as z:
                for member in z.namelist():
                    tensors[index[member[:-4]]] = read_npy(z.read(member))
    header, offset, blobs = {}, 0, []
    for key in sorted(tensors):
        dtype, shape, blob = tensors[key]
        header[key] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = weights + ".partial"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, weights)
    print(f"{len(tensors)} tensors, {offset} bytes -> {weights}")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("split", "join"):
        sys.exit(__doc__)
    (split if sys.argv[1] == "split" else join)(sys.argv[2], sys.argv[3])

#!/usr/bin/env python3
"""Reads a .safetensors file with nothing but the format's specification (8-byte little-endian header
length, JSON header, raw little-endian data) and prints one line per tensor: name dtype shape sum.
An independent check that ftmamba's files are what Python's safetensors expects."""
import json
import struct
import sys

import numpy as np

DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
          "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        if info["dtype"] == "BF16":  # numpy has no bfloat16: widen the 16 bits into float32
            u16 = np.frombuffer(data[start:end], dtype="<u2").astype(np.uint32) << 16
            arr = u16.view(np.float32)
        else:
            arr = np.frombuffer(data[start:end], dtype=np.dtype(DTYPES[info["dtype"]]).newbyteorder("<"))
        out[name] = (info["dtype"], arr.reshape(info["shape"]))
    return header.get("__metadata__", {}), out


if __name__ == "__main__":
    meta, tensors = read(sys.argv[1])
    for name, (dtype, arr) in sorted(tensors.items()):
        s = arr.sum()
        print(f"{name} {dtype} {list(arr.shape)} {s:.6g}" if arr.dtype.kind == "f" else f"{name} {dtype} {list(arr.shape)} {int(s)}")

#!/usr/bin/env python3
"""Writes the small load fixtures of tests/io/load_*_test.cc (committed; tests need no Python).

    pip install numpy safetensors && python3 tests/data/loads/make_samples.py

Toy worlds (the tests restate the numbers they assert):

* CSV: toy.csv has a header `layer,e0..e3`, layer ids 3, 4, 5 and layer 4 all zero (no data);
  plain.csv has no header, 2 layers x 4 experts.
* npy: trace_u4.npy is [4 steps, 3 layers, 5 experts] uint32 with
  value = 100 * step + 10 * layer + expert; static_i8.npy is [3, 5] int64, value = 10 * layer +
  expert; dtype_<t>.npy are [2, 3] arrays 0..5 of each supported dtype; v2.npy / v3.npy are
  static_i8 in .npy format 2.0 / 3.0. Malformed: fortran.npy, big_endian.npy, complex.npy,
  one_d.npy, negative.npy, nan.npy.
* SGLang: sglang_2d.json is {"logical_count": [4 layers][6 experts]}, layer 0 all zero (a dense
  layer), value = 10 * layer + expert elsewhere; sglang_3d.json is the dumped dict (rank,
  logical_count [3 steps][2 layers][4 experts], average_utilization_rate_over_window) with
  value = 100 * step + 10 * layer + expert.
* TensorRT-LLM (as tensorrt_llm/_torch/expert_statistic.py writes it):
  trtllm_stats/ holds meta_info.json {"num_experts": 8, "num_experts_per_token": 2} and
  rank0.safetensors (int64) / rank1.safetensors (int32), keys "{iter}_{layer}" for iterations
  100..103 and layers 3, 4, 5, value = (iter - 99) * (expert + 1) + rank * layer; summed over
  ranks and all iterations a layer's expert e gets 2 * 10 * (e + 1) + 4 * layer. Files the reader
  must ignore sit beside them (rank0_raw.safetensors, cooccurrence_rank0.safetensors).
  trtllm_slots/ is per-slot statistics (EPLB active): meta num_experts 10 = slots (2 ranks x 5),
  one rank, iteration 0, layers 3 and 4, slot s counts s + 1 (layer 4: 2 * (s + 1)).
  trtllm_bad_count/ is trtllm_stats/ with rank1's "101_4" holding 9 values.
"""
import json
import os
import shutil

import numpy as np
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))


def path(*parts):
    return os.path.join(HERE, *parts)


def write_text(name, text):
    with open(path(name), "w") as f:
        f.write(text)


def write_npy(name, array, version=None):
    with open(path(name), "wb") as f:
        np.lib.format.write_array(f, array, version=version)


def csv_samples():
    write_text("toy.csv", "layer,e0,e1,e2,e3\n3,120,80,0,7\n4,0,0,0,0\n5,95,101,3,9\n\n")
    write_text("plain.csv", "1,2,3,4\n5,6,7,8.5\n")


def npy_samples():
    steps, layers, experts = np.meshgrid(np.arange(4), np.arange(3), np.arange(5), indexing="ij")
    write_npy("trace_u4.npy", (100 * steps + 10 * layers + experts).astype("<u4"))
    layers2, experts2 = np.meshgrid(np.arange(3), np.arange(5), indexing="ij")
    static = (10 * layers2 + experts2).astype("<i8")
    write_npy("static_i8.npy", static)
    write_npy("v2.npy", static, version=(2, 0))
    write_npy("v3.npy", static, version=(3, 0))
    for dtype in ["|u1", "|i1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f4", "<f8"]:
        name = dtype[1:]
        write_npy(f"dtype_{name}.npy", np.arange(6).reshape(2, 3).astype(dtype))
    write_npy("fortran.npy", np.asfortranarray(static))
    write_npy("big_endian.npy", static.astype(">i8"))
    write_npy("complex.npy", static.astype("<c16"))
    write_npy("one_d.npy", np.arange(5, dtype="<i8"))
    negative = static.copy()
    negative[1, 2] = -4
    write_npy("negative.npy", negative)
    nan = static.astype("<f8")
    nan[2, 1] = np.nan
    write_npy("nan.npy", nan)


def sglang_samples():
    counts = [[0 if layer == 0 else 10 * layer + e for e in range(6)] for layer in range(4)]
    write_text("sglang_2d.json", json.dumps({"logical_count": counts}))
    counts3 = [[[100 * s + 10 * layer + e for e in range(4)] for layer in range(2)]
               for s in range(3)]
    write_text("sglang_3d.json", json.dumps(
        {"rank": 0, "logical_count": counts3, "average_utilization_rate_over_window": None}))


def trtllm_dir(name, meta, ranks):
    d = path(name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "meta_info.json"), "w") as f:
        json.dump(meta, f)
    for rank, tensors in enumerate(ranks):
        save_file(tensors, os.path.join(d, f"rank{rank}.safetensors"))
    return d


def trtllm_samples():
    meta = {"num_experts": 8, "num_experts_per_token": 2}
    experts = np.arange(8)
    ranks = []
    for rank, dtype in [(0, np.int64), (1, np.int32)]:
        ranks.append({f"{it}_{layer}": ((it - 99) * (experts + 1) + rank * layer).astype(dtype)
                      for it in range(100, 104) for layer in (3, 4, 5)})
    d = trtllm_dir("trtllm_stats", meta, ranks)
    # Dumps the reader must skip: raw token ids and co-occurrence matrices.
    save_file({"100_3": np.zeros((4, 2), dtype=np.int32)}, os.path.join(d, "rank0_raw.safetensors"))
    save_file({"100_3": np.zeros((8, 8), dtype=np.int32)},
              os.path.join(d, "cooccurrence_rank0.safetensors"))

    bad = [dict(r) for r in ranks]
    bad[1]["101_4"] = np.arange(9, dtype=np.int32)
    trtllm_dir("trtllm_bad_count", meta, bad)

    slots = np.arange(10)
    trtllm_dir("trtllm_slots", {"num_experts": 10, "num_experts_per_token": 2},
               [{"0_3": (slots + 1).astype(np.int64), "0_4": (2 * (slots + 1)).astype(np.int64)}])


if __name__ == "__main__":
    csv_samples()
    npy_samples()
    sglang_samples()
    trtllm_samples()
    for root, _, files in os.walk(HERE):  # safetensors writes 0600; keep the checkout readable
        for name in files:
            os.chmod(os.path.join(root, name), 0o755 if name.endswith(".py") else 0o644)

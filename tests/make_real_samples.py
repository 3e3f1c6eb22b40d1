#!/usr/bin/python3
"""Writes real benign samples with Debian's python3-torch/numpy/joblib (run once by a
developer; the outputs are committed so CI never needs torch). Nothing here loads a file.

    /usr/bin/python3 tests/make_real_samples.py corpus
"""
import os
import pickle
import sys

import joblib
import numpy as np
import torch


def torch_samples(d):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    torch.save(model.state_dict(), os.path.join(d, "valid-state-dict.pt"))
    base = torch.arange(12, dtype=torch.float32)
    tensors = {
        "f32": base, "view": base[2:8].view(2, 3),  # shared storage
        "f16": base.half(), "bf16": base.bfloat16(), "f64": base.double(),
        "i64": torch.arange(5), "i8": torch.tensor([-1, 2], dtype=torch.int8),
        "u8": torch.tensor([1, 255], dtype=torch.uint8), "bool": torch.tensor([True, False]),
        "param": torch.nn.Parameter(torch.ones(2, 2)), "scalar": torch.tensor(3.5),
        "meta": {"epoch": 3, "name": "demo", "lr": [0.1, 0.01]},
    }
    torch.save(tensors, os.path.join(d, "valid-dtypes-shared.pt"))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.ones(1, 4)).sum().backward()
    opt.step()
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict()},
               os.path.join(d, "valid-optimizer.pt"))
    torch.save(model.state_dict(), os.path.join(d, "legacy-state-dict.pt"),
               _use_new_zipfile_serialization=False)


def data_samples(d):
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, 2], np.int64),
              "s": np.float64(2.5)}
    for proto in (2, 4, 5):
        with open(os.path.join(d, "valid-numpy-proto%d.pkl" % proto), "wb") as f:
            pickle.dump(arrays, f, protocol=proto)
    joblib.dump(arrays, os.path.join(d, "joblib-arrays.joblib"))


def main(root):
    torch_samples(os.path.join(root, "pytorch"))
    data_samples(os.path.join(root, "pickle"))


if __name__ == "__main__":
    main(sys.argv[1])

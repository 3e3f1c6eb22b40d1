#!/usr/bin/python3
"""Writes corpus/keras: .keras archives and Keras model-folder config.json files, made the way
keras-team/keras (3422977a) writes them: saving_lib.py _save_model_to_fileobj (a zip of
metadata.json, config.json and model.weights.h5, members stored), serialization_lib.py
serialize_keras_object (module / class_name / config / registered_name), H5IOStore (the weights
file: groups per layer path with a "vars" group of datasets "0", "1", ...). python3-keras is not
packaged in Debian: the configs are written from Keras's source, the weights with h5py.

Usage: gen_keras.py OUTDIR      (then: corpus_test.py STCHECK corpus/keras --update, review)
"""
import io
import json
import os
import sys
import zipfile

import h5py
import numpy as np

DTYPE = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
         "registered_name": None}


def init(cls, cfg=None):
    return {"module": "keras.initializers", "class_name": cls, "config": cfg or {},
            "registered_name": None}


def dense(name, units, act):
    return {"module": "keras.layers", "class_name": "Dense",
            "config": {"name": name, "trainable": True, "dtype": DTYPE, "units": units,
                       "activation": act, "use_bias": True,
                       "kernel_initializer": init("GlorotUniform", {"seed": None}),
                       "bias_initializer": init("Zeros"), "kernel_regularizer": None,
                       "bias_regularizer": None, "kernel_constraint": None,
                       "bias_constraint": None},
            "registered_name": None, "build_config": {"input_shape": [None, 4]}}


def sequential(extra=()):
    layers = [{"module": "keras.layers", "class_name": "InputLayer",
               "config": {"batch_shape": [None, 4], "dtype": "float32", "sparse": False,
                          "ragged": False, "name": "input_layer"}, "registered_name": None},
              dense("dense", 8, "relu"), dense("dense_1", 1, "linear")] + list(extra)
    return {"module": "keras", "class_name": "Sequential",
            "config": {"name": "sequential", "trainable": True, "dtype": DTYPE,
                       "layers": layers, "build_input_shape": [None, 4]},
            "registered_name": None, "build_config": {"input_shape": [None, 4]},
            "compile_config": {
                "optimizer": {"module": "keras.optimizers", "class_name": "Adam",
                              "config": {"name": "adam", "learning_rate": 0.001},
                              "registered_name": None},
                "loss": "mse", "loss_weights": None, "metrics": ["mae"],
                "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1,
                "jit_compile": False}}


def weights():
    b = io.BytesIO()
    with h5py.File(b, "w") as f:
        for name, shape in (("dense", (4, 8)), ("dense_1", (8, 1))):
            g = f.create_group(f"layers/{name}/vars")
            g.create_dataset("0", data=np.zeros(shape, "f4"))
            g.create_dataset("1", data=np.zeros(shape[1:], "f4"))
        f.create_group("optimizer/vars").create_dataset("0", data=np.zeros((), "i8"))
    return b.getvalue()


META = json.dumps({"keras_version": "3.11.3", "date_saved": "2026-01-01@00:00:00"})
GADGETS = {
    "ST851-lambda": {"module": "keras.layers", "class_name": "Lambda",
                     "config": {"name": "lambda", "function": {
                         "class_name": "__lambda__",
                         "config": {"code": "4wEAAAAAAAAAAAAAAAEAAAADAAAAQwAAAHMEAAAAdABTAKkBTqkA",
                                    "defaults": None, "closure": None}}},
                     "registered_name": None},
    "ST852-module": {"module": "subprocess", "class_name": "Popen", "config": {},
                     "registered_name": None},
    "ST854-get-file": {"module": "keras.utils", "class_name": "function",
                       "config": "get_file", "registered_name": "get_file"},
    "ST854-tfsmlayer": {"module": "keras.layers", "class_name": "TFSMLayer",
                        "config": {"name": "t", "filepath": "/tmp/x", "call_endpoint": "serve"},
                        "registered_name": None},
    "ST855-vocabulary": {"module": "keras.layers", "class_name": "StringLookup",
                         "config": {"name": "s", "vocabulary": "/etc/passwd"},
                         "registered_name": None},
}


def archive(path, cfg, meta=META, weights_bytes=None, compression=zipfile.ZIP_STORED,
            npz=False):
    with zipfile.ZipFile(path, "w", compression) as z:
        if meta is not None:
            z.writestr("metadata.json", meta)
        z.writestr("config.json", cfg if isinstance(cfg, str) else json.dumps(cfg))
        if npz:
            nb = io.BytesIO()
            np.savez(nb, np.zeros(3, "f4"))
            z.writestr("model.weights.npz", nb.getvalue())
        elif weights_bytes is not None:
            z.writestr("model.weights.h5", weights_bytes)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    w = weights()
    archive(f"{out}/valid-sequential.keras", sequential(), weights_bytes=w)
    archive(f"{out}/valid-deflated.keras", sequential(), weights_bytes=w,
            compression=zipfile.ZIP_DEFLATED)
    archive(f"{out}/valid-npz.keras", sequential(), npz=True)
    archive(f"{out}/ST858-no-metadata.keras", sequential(), meta=None, weights_bytes=w)
    archive(f"{out}/ST859-no-weights.keras", sequential())
    archive(f"{out}/ST850-config-not-json.keras", '{"class_name": "Dense",}', weights_bytes=w)
    archive(f"{out}/ST870-weights-not-hdf5.keras", sequential(), weights_bytes=b"not hdf5")
    for name, layer in GADGETS.items():
        archive(f"{out}/{name}.keras", sequential([layer]), weights_bytes=w)
        with open(f"{out}/{name}-config.json", "w") as f:
            json.dump(sequential([layer]), f)
    with open(f"{out}/valid-config.json", "w") as f:
        json.dump(sequential(), f)
    # a tf.keras 2 model_config (no module), as legacy .h5 files and keras_metadata.pb hold it
    with open(f"{out}/valid-legacy-config.json", "w") as f:
        json.dump({"class_name": "Sequential", "config": {"name": "sequential", "layers": [
            {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4],
                                                    "dtype": "float32", "name": "in"}},
            {"class_name": "Dense", "config": {"name": "dense", "units": 2,
                                               "activation": "relu"}},
            {"class_name": "TFOpLambda", "config": {"name": "tf.math.add",
                                                    "function": "math.add"}}]}}, f)
    with open(f"{out}/ST857-tf-op-config.json", "w") as f:
        json.dump({"class_name": "TFOpLambda", "config": {"function": "io.write_file"}}, f)
    # a legacy Lambda whose function is a list, without function_type: Keras 3's .h5 loader
    # (legacy/saving/saving_utils.py model_from_config) turns it into a __lambda__
    with open(f"{out}/ST851-lambda-list-config.json", "w") as f:
        json.dump({"class_name": "Lambda", "config": {"name": "lambda", "function": [
            "4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMIAAAAfABkARQAUwApAk7pAgAAAKkAKQHaAXhyAgAAAHIC",
            None, None], "arguments": {}}}, f)
    # a model folder's config.json with its keys in another order (json.loads does not care)
    with open(f"{out}/ST851-reordered-config.json", "w") as f:
        json.dump({"config": {"name": "lambda", "function": {"class_name": "__lambda__", "config": {
            "code": "4wEAAAAA", "defaults": None, "closure": None}}}, "class_name": "Lambda",
            "module": "keras.layers", "registered_name": None}, f)


main()

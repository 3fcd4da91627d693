"""Misbehaving fixture: a mean model whose predict fails on chosen inputs.

x == 13: raises ValueError.  x == 21: one value too few.  x == 55: text, not numbers.
x == 66: os._exit(1), the worker dies.  x == 77: sleeps forever.  x == 99: NaN.
Every call also prints, through sys.stdout and straight to descriptor 1, which
must not reach the worker's frames.
"""
import os
import sys
import time

import numpy as np


def train(dataset):
    return {"mean": float(dataset["y"].mean())}


def predict(model, features):
    print("predicting", len(features), "rows")
    sys.stdout.flush()
    os.write(1, b"\x00\x00\x00\x05hello written to fd 1\n")
    x = features["x"].to_numpy()
    if (x == 13).any():
        raise ValueError("x == 13 is unlucky")
    if (x == 66).any():
        os._exit(1)
    if (x == 77).any():
        while True:
            time.sleep(3600)
    out = np.full(len(x), model["mean"])
    if (x == 21).any():
        return out[:-1]
    if (x == 55).any():
        return ["not a number"] * len(x)
    out[x == 99] = np.nan
    return out


def info():
    print("info prints too")
    return {"purpose": "failure cases"}

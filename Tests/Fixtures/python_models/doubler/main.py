"""Doubler fixture, for adaptive batching: each row's answer is 2x, so a batch's
answers can be told apart; x == 13 raises; every call takes 50 ms, so
concurrent requests queue behind a busy worker and are coalesced."""
import time


def train(dataset):
    return {"factor": 2.0}


def predict(model, features):
    time.sleep(0.05)
    x = features["x"].to_numpy()
    if (x == 13).any():
        raise ValueError("x == 13 is unlucky")
    return x * model["factor"]

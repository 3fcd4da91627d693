"""No-predict fixture: trains, but defines no predict."""


def train(dataset):
    return {"mean": float(dataset["y"].mean())}

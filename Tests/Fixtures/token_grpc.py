"""Prediction tokens over gRPC, as Triton's own client (PyPI tritonclient[grpc]) sends them:
ModelInfer without a token is UNAUTHENTICATED, with a token for another model
PERMISSION_DENIED, with a good token (the `authorization` metadata) answered like
POST /predict. Prints "ok" and the request id of the good call.

    python token_grpc.py HTTP_BASE GRPC_ADDRESS MODEL GOOD_TOKEN OTHER_MODEL_TOKEN
"""
import sys

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from triton_common import REGRESSION_ROWS, check, finish, predict, regression_inputs


def status_of(call):
    try:
        call()
    except InferenceServerException as error:
        return error.status(), error.message()
    return "OK", ""


def main(base, address, model, good, other):
    client = grpcclient.InferenceServerClient(address)
    rows = REGRESSION_ROWS[:2]
    inputs = regression_inputs(grpcclient, rows)
    status, message = status_of(lambda: client.infer(model, inputs))
    check(status == "StatusCode.UNAUTHENTICATED" and "token is required" in message, f"no token: {status} {message}")
    status, message = status_of(lambda: client.infer(model, inputs, headers={"authorization": "Bearer cvt_wrong"}))
    check(status == "StatusCode.UNAUTHENTICATED" and "not known" in message, f"unknown: {status} {message}")
    status, message = status_of(
        lambda: client.infer(model, inputs, headers={"authorization": f"Bearer {other}"}))
    check(status == "StatusCode.PERMISSION_DENIED" and model in message, f"other model: {status} {message}")
    result = client.infer(model, inputs, headers={"authorization": f"Bearer {good}"})
    expected = np.array(predict(base, rows, token=good))
    check(np.array_equal(result.as_numpy("prediction"), expected), "a good token is answered like POST /predict")
    print("request", result.get_response().id)
    finish("tokens")


if __name__ == "__main__":
    main(*sys.argv[1:6])

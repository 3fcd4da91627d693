"""The Open Inference Protocol over HTTP as Triton's own client library
(PyPI tritonclient[http]) speaks it, against a running serving: health and
metadata, infer with binary tensors (the client's default, BYTES included)
and with JSON tensors, requested outputs, batches — each answer equal to
POST /predict for the same rows — and malformed binary bodies.

    python triton_http.py BASE_URL MODEL regression|classification
"""
import json
import sys

import numpy as np
import tritonclient.http as httpclient

from triton_common import (REGRESSION_ROWS, check, check_classification, failures, finish, post, predict,
                           regression_inputs)


def main():
    base, model, mode = sys.argv[1:4]
    client = httpclient.InferenceServerClient(url=base.replace("http://", ""))
    check(client.is_server_live() and client.is_server_ready(), "server live and ready")
    check(client.is_model_ready(model), "model ready")
    check("binary_tensor_data" in client.get_server_metadata()["extensions"], "the extension is advertised")
    metadata = client.get_model_metadata(model)
    check(metadata["name"] == model, f"model metadata names {metadata['name']}")

    if mode == "regression":
        rows = REGRESSION_ROWS
        expected = np.array(predict(base, rows))

        def tensors(binary):
            return regression_inputs(httpclient, rows, binary_data=binary)

        for binary in (True, False):
            result = client.infer(model, tensors(binary))  # no outputs named: all come back binary
            got = result.as_numpy("prediction")
            check(got is not None and np.array_equal(got, expected),
                  f"binary={binary}: {got} != POST /predict {expected}")
        # A requested output as JSON, and one as binary.
        for binary_output in (False, True):
            result = client.infer(model, tensors(True),
                                  outputs=[httpclient.InferRequestedOutput("prediction", binary_data=binary_output)])
            check(np.array_equal(result.as_numpy("prediction"), expected), f"requested output binary={binary_output}")
        # One row.
        one = regression_inputs(httpclient, rows[:1])
        check(np.array_equal(client.infer(model, one).as_numpy("prediction"), expected[:1]), "one row")
        # An out-of-range value in a binary tensor: the same validation as JSON, named.
        bad = tensors(True)
        bad[0].set_data_from_numpy(np.array([1000.0] * len(rows)))
        try:
            client.infer(model, bad)
            failures.append("a = 1000 (max 100) was accepted")
        except Exception as error:  # tritonclient raises InferenceServerException
            check("a" in str(error) and "100" in str(error), f"the range error names the field: {error}")
    else:
        check_classification(base, client, httpclient, model)

    # Malformed binary bodies: clear 4xx answers, and the server keeps answering.
    header = json.dumps({"inputs": [{"name": "x", "shape": [2], "datatype": "FP64",
                                     "parameters": {"binary_data_size": 16}}]}).encode()
    url = f"/v2/models/{model}/infer"
    status, body, _ = post(base, url, header + b"\0" * 16,
                        {"Inference-Header-Content-Length": str(len(header) + 100), "Content-Type": "application/octet-stream"})
    check(status == 400 and b"Inference-Header-Content-Length" in body, f"a header longer than the body: {status} {body}")
    status, body, _ = post(base, url, header + b"\0" * 8,
                        {"Inference-Header-Content-Length": str(len(header)), "Content-Type": "application/octet-stream"})
    check(status == 422 and b"binary_data_size" in body, f"binary_data_size past the end: {status} {body}")
    status, body, _ = post(base, url, header + b"\0" * 24,
                        {"Inference-Header-Content-Length": str(len(header)), "Content-Type": "application/octet-stream"})
    check(status == 400 and b"belong to no input" in body, f"bytes left over: {status} {body}")
    strings = json.dumps({"inputs": [{"name": "colour", "shape": [1], "datatype": "BYTES",
                                      "parameters": {"binary_data_size": 6}}]}).encode()
    status, body, _ = post(base, url, strings + b"\xff\x00\x00\x00ab",
                        {"Inference-Header-Content-Length": str(len(strings)), "Content-Type": "application/octet-stream"})
    check(status == 422 and b"BYTES element claims" in body, f"a BYTES length past the end: {status} {body}")
    check(client.is_server_live(), "still live after malformed bodies")

    finish(mode)


if __name__ == "__main__":
    main()

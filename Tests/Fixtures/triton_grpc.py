"""The Open Inference Protocol over gRPC as Triton's own client library
(PyPI tritonclient[grpc]) speaks it, against a running serving: health and
metadata, ModelInfer with raw_input_contents (the client's way) and with
typed contents (through the protocol's own generated stub), BYTES inputs,
requested outputs, one row and batches, classification labels and
probabilities — each answer equal to POST /predict for the same rows — and
errors: a value out of range, another model's name, buffers that do not fit,
a message over the size limit. Prints the request ids of one gRPC and one
HTTP /v2 call of the same rows, so the caller can compare their log rows.

    python triton_grpc.py HTTP_BASE GRPC_ADDRESS MODEL regression|classification|empty
"""
import json
import sys
import urllib.request

import grpc
import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.grpc import service_pb2, service_pb2_grpc
from tritonclient.utils import InferenceServerException

from triton_common import REGRESSION_ROWS, check, check_classification, finish, post, predict, regression_inputs


def refused(call, status, *words):
    """Runs call, which must fail with the gRPC status named and a message holding every word."""
    try:
        call()
    except InferenceServerException as error:
        return error.status() == f"StatusCode.{status}" and all(w in error.message() for w in words), \
            f"{error.status()}: {error.message()}"
    except grpc.RpcError as error:
        return error.code().name == status and all(w in error.details() for w in words), \
            f"{error.code().name}: {error.details()}"
    return False, "accepted"


def live_version(base):
    with urllib.request.urlopen(base + "/", timeout=10) as response:
        return json.loads(response.read())["version"]


def regression(base, client, stub, model):
    rows = REGRESSION_ROWS
    expected = np.array(predict(base, rows))

    def tensors(rows):
        return regression_inputs(grpcclient, rows)

    result = client.infer(model, tensors(rows))
    got = result.as_numpy("prediction")
    check(got is not None and np.array_equal(got, expected), f"raw contents: {got} != POST /predict {expected}")
    check(result.get_response().model_version == live_version(base), "the answer names the live version")
    result = client.infer(model, tensors(rows), outputs=[grpcclient.InferRequestedOutput("prediction")])
    check(np.array_equal(result.as_numpy("prediction"), expected), "a requested output")
    check(np.array_equal(client.infer(model, tensors(rows[:1])).as_numpy("prediction"), expected[:1]), "one row")

    # Explanations asked for by name: contributions [N, F] (features in the model's order) and
    # base_value [N], equal to POST /predict?explain=true's and adding up to the prediction.
    names = ("prediction", "contributions", "base_value")
    result = client.infer(model, tensors(rows), outputs=[grpcclient.InferRequestedOutput(n) for n in names])
    contributions, bases = result.as_numpy("contributions"), result.as_numpy("base_value")
    status, body, _ = post(base, "/predict?explain=true", json.dumps({"instances": rows}).encode())
    explained = json.loads(body)["explanations"] if status == 200 else []
    check(contributions is not None and contributions.shape == (len(rows), 3), f"contributions {contributions}")
    check(len(explained) == len(rows), f"POST /predict?explain=true: {status} {body[:200]}")
    for i, explanation in enumerate(explained):
        parts = [explanation["contributions"][name] for name in ("a", "b", "colour")]
        check(np.allclose(contributions[i], parts, rtol=0, atol=1e-12), f"row {i}: {contributions[i]} != {parts}")
        check(abs(bases[i] - explanation["base_value"]) < 1e-12, f"row {i}: base {bases[i]}")
        check(abs(bases[i] + contributions[i].sum() - expected[i]) < 1e-9, f"row {i}: the parts add up")

    # A batch of 200 rows, every colour and a spread of values.
    rng = np.random.default_rng(7)
    batch = [{"a": float(rng.uniform(0, 100)), "b": float(rng.uniform(-5, 5)),
              "colour": ["red", "green", "blue"][i % 3]} for i in range(200)]
    got = client.infer(model, tensors(batch)).as_numpy("prediction")
    check(np.array_equal(got, np.array(predict(base, batch))), "a batch of 200 rows equals POST /predict")

    # Typed contents through the protocol's own stub: the answer comes back typed.
    request = service_pb2.ModelInferRequest(model_name=model, id="typed-1")
    for name, datatype in (("a", "FP64"), ("b", "FP64"), ("colour", "BYTES")):
        tensor = request.inputs.add(name=name, datatype=datatype, shape=[len(rows)])
        if datatype == "BYTES":
            tensor.contents.bytes_contents.extend(r[name].encode() for r in rows)
        else:
            tensor.contents.fp64_contents.extend(r[name] for r in rows)
    response, call = stub.ModelInfer.with_call(request, timeout=10)
    check(response.id == "typed-1", f"the request's id comes back: {response.id!r}")
    check(len(response.raw_output_contents) == 0 and
          np.array_equal(np.array(response.outputs[0].contents.fp64_contents), expected),
          f"typed contents: {response}")
    grpc_request_id = dict(call.initial_metadata()).get("x-request-id")
    check(grpc_request_id, "x-request-id in the answer's metadata")
    # The same rows over HTTP /v2 with JSON tensors, for the log comparison.
    body = {"inputs": [{"name": "a", "datatype": "FP64", "shape": [len(rows)], "data": [r["a"] for r in rows]},
                       {"name": "b", "datatype": "FP64", "shape": [len(rows)], "data": [r["b"] for r in rows]},
                       {"name": "colour", "datatype": "BYTES", "shape": [len(rows)],
                        "data": [r["colour"] for r in rows]}]}
    status, _, headers = post(base, f"/v2/models/{model}/infer", json.dumps(body).encode())
    check(status == 200, f"HTTP /v2 infer: {status}")
    print(f"logged grpc={grpc_request_id} http={headers.get('X-Request-Id')}")

    # Errors name their field, with the status HTTP's 4xx maps to.
    bad = tensors(rows)
    bad[0].set_data_from_numpy(np.array([1000.0] * len(rows)))
    ok, detail = refused(lambda: client.infer(model, bad), "INVALID_ARGUMENT", "a", "100")
    check(ok, f"a = 1000 (max 100): {detail}")
    ok, detail = refused(lambda: client.infer(model, tensors(rows)[:2]), "INVALID_ARGUMENT", "colour")
    check(ok, f"a missing feature tensor: {detail}")
    short = service_pb2.ModelInferRequest(model_name=model)
    short.inputs.add(name="a", datatype="FP64", shape=[2])
    short.raw_input_contents.append(b"\0" * 12)
    ok, detail = refused(lambda: stub.ModelInfer(short, timeout=10), "INVALID_ARGUMENT", "raw_input_contents[0]")
    check(ok, f"12 bytes of FP64: {detail}")
    uneven = service_pb2.ModelInferRequest(model_name=model)
    uneven.inputs.add(name="a", datatype="FP64", shape=[1])
    uneven.inputs.add(name="b", datatype="FP64", shape=[1])
    uneven.raw_input_contents.append(b"\0" * 8)
    ok, detail = refused(lambda: stub.ModelInfer(uneven, timeout=10), "INVALID_ARGUMENT", "raw_input_contents")
    check(ok, f"one buffer for two inputs: {detail}")
    mixed = service_pb2.ModelInferRequest(model_name=model)
    mixed.inputs.add(name="a", datatype="FP64", shape=[1]).contents.int64_contents.append(3)
    ok, detail = refused(lambda: stub.ModelInfer(mixed, timeout=10), "INVALID_ARGUMENT", "int64_contents")
    check(ok, f"INT64 contents in an FP64 tensor: {detail}")
    too_many = [dict(rows[0]) for _ in range(1001)]
    ok, detail = refused(lambda: client.infer(model, tensors(too_many)), "INVALID_ARGUMENT", "1000")
    check(ok, f"1001 rows (MAX_INSTANCES 1000): {detail}")
    # Over MAX_BODY_BYTES (1 MiB): refused, naming the limit.
    huge = [grpcclient.InferInput("colour", [1], "BYTES")]
    huge[0].set_data_from_numpy(np.array([b"x" * (3 << 19)], dtype=np.object_))
    ok, detail = refused(lambda: client.infer(model, huge), "RESOURCE_EXHAUSTED", "MAX_BODY_BYTES")
    check(ok, f"a 1.5 MiB message: {detail}")
    # Over twice the limit the transport resets the stream: the client sees it fail, the server goes on.
    ok, detail = refused(lambda: client.infer(model, [huge[0]] * 3), "CANCELLED")
    check(ok, f"a 4.5 MiB message: {detail}")


def classification(base, client, model):
    result = check_classification(base, client, grpcclient, model)
    check(result.get_response().model_version == live_version(base), "the answer names the swapped-in version")


def main():
    base, address, model, mode = sys.argv[1:5]
    client = grpcclient.InferenceServerClient(url=address)
    channel = grpc.insecure_channel(address)
    stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
    check(client.is_server_live(), "server live")
    if mode == "empty":
        # Before any deployment: live, not ready, and infer says why.
        check(not client.is_server_ready(), "not ready before a deployment")
        ok, detail = refused(lambda: client.is_model_ready(model), "UNAVAILABLE", "no model")
        check(ok, f"model ready before a deployment: {detail}")
        one = [grpcclient.InferInput("a", [1], "FP64")]
        one[0].set_data_from_numpy(np.array([1.0]))
        ok, detail = refused(lambda: client.infer(model, one), "UNAVAILABLE", "no model")
        check(ok, f"infer before a deployment: {detail}")
    else:
        check(client.is_server_ready(), "server ready")
        check(client.is_model_ready(model), "model ready")
        check(client.get_server_metadata().name == "conveyor-serving", "server metadata")
        metadata = client.get_model_metadata(model, as_json=True)
        check(metadata["name"] == model and metadata["versions"] == [live_version(base)],
              f"model metadata: {metadata}")
        ok, detail = refused(lambda: client.get_model_metadata("no-such-model"), "NOT_FOUND", "no-such-model")
        check(ok, f"another model's name: {detail}")
        ok, detail = refused(lambda: client.is_model_ready(model, model_version="v0"), "NOT_FOUND", "v0")
        check(ok, f"a version not served: {detail}")
        if mode == "regression":
            regression(base, client, stub, model)
        else:
            classification(base, client, model)
    check(client.is_server_live(), "still live after the errors")

    finish(mode)


if __name__ == "__main__":
    main()

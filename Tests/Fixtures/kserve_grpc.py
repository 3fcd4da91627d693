"""The Open Inference Protocol over gRPC as KServe's own Python client
(PyPI kserve: InferenceGRPCClient) speaks it, against a running serving:
readiness, ModelInfer with typed contents (KServe sends Python lists that
way) and with raw contents (numpy arrays), each answer equal to POST /predict
for the same rows, and an out-of-range value refused naming the field.

    python kserve_grpc.py HTTP_BASE GRPC_ADDRESS MODEL
"""
import asyncio
import sys

import grpc
import numpy as np
from kserve import InferenceGRPCClient, InferInput, InferRequest

from triton_common import REGRESSION_ROWS, check, finish, predict

ROWS = REGRESSION_ROWS[:3]


def inputs(rows, as_numpy):
    columns = {name: [r[name] for r in rows] for name in ("a", "b", "colour")}
    if not as_numpy:
        return [InferInput("a", [len(rows)], "FP64", data=columns["a"]),
                InferInput("b", [len(rows)], "FP64", data=columns["b"]),
                InferInput("colour", [len(rows)], "BYTES", data=columns["colour"])]
    tensors = [InferInput("a", [len(rows)], "FP64"), InferInput("b", [len(rows)], "FP64"),
               InferInput("colour", [len(rows)], "BYTES")]
    tensors[0].set_data_from_numpy(np.array(columns["a"], dtype=np.float64))
    tensors[1].set_data_from_numpy(np.array(columns["b"], dtype=np.float64))
    tensors[2].set_data_from_numpy(np.array([c.encode() for c in columns["colour"]], dtype=np.object_))
    return tensors


async def main():
    base, address, model = sys.argv[1:4]
    expected = np.array(predict(base, ROWS))
    client = InferenceGRPCClient(address, retries=2, timeout=10)
    try:
        check(await client.is_server_live(), "server live")
        check(await client.is_server_ready(), "server ready")
        check(await client.is_model_ready(model), "model ready")
        for as_numpy in (False, True):
            response = await client.infer(InferRequest(model_name=model, infer_inputs=inputs(ROWS, as_numpy),
                                                       request_id=f"kserve-{as_numpy}"))
            got = response.outputs[0].as_numpy().astype(np.float64)
            check(response.outputs[0].name == "prediction" and np.array_equal(got, expected),
                  f"numpy={as_numpy}: {got} != POST /predict {expected}")
            check(response.id == f"kserve-{as_numpy}", f"the request id comes back: {response.id}")
        bad = [dict(ROWS[0], a=1000.0)]
        try:
            await client.infer(InferRequest(model_name=model, infer_inputs=inputs(bad, False)))
            check(False, "a = 1000 (max 100) was accepted")
        except grpc.RpcError as error:
            check(error.code() == grpc.StatusCode.INVALID_ARGUMENT and "a" in error.details()
                  and "100" in error.details(), f"a = 1000: {error.code()} {error.details()}")
    finally:
        await client.close()
    finish("kserve")


if __name__ == "__main__":
    asyncio.run(main())

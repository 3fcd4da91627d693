"""serving's gRPC port as a client sees its limits (PyPI grpcio, through
tritonclient[grpc]'s generated stub):

    python grpc_limits.py GRPC_ADDRESS settings [MAX_CONCURRENT_STREAMS]
        the server's first SETTINGS frame over a raw HTTP/2 connection,
        printed as `NAME=value` lines; exits non-zero when the server does not
        advertise the MAX_CONCURRENT_STREAMS given;
    python grpc_limits.py GRPC_ADDRESS burst MODEL CALLS
        CALLS ModelInfer calls started at once on one channel (one HTTP/2
        connection), after a first call has opened it; prints `ok=… failed=…`
        and the first failure, and exits non-zero when any call failed.
"""
import socket
import struct
import sys

import grpc
from tritonclient.grpc import service_pb2, service_pb2_grpc

SETTINGS_NAMES = {1: "HEADER_TABLE_SIZE", 2: "ENABLE_PUSH", 3: "MAX_CONCURRENT_STREAMS",
                  4: "INITIAL_WINDOW_SIZE", 5: "MAX_FRAME_SIZE", 6: "MAX_HEADER_LIST_SIZE"}


def read_exactly(connection, count):
    data = b""
    while len(data) < count:
        chunk = connection.recv(count - len(data))
        if not chunk:
            raise SystemExit(f"the server closed the connection after {len(data)} of {count} bytes")
        data += chunk
    return data


def settings(address, expected):
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        # The client preface and an empty SETTINGS frame.
        connection.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + struct.pack(">I", 0)[1:] + b"\x04\x00" + b"\0\0\0\0")
        while True:
            header = read_exactly(connection, 9)
            length = int.from_bytes(header[:3], "big")
            kind, flags = header[3], header[4]
            payload = read_exactly(connection, length)
            if kind == 4 and not flags & 1:
                advertised = {}
                for offset in range(0, length, 6):
                    identifier, value = struct.unpack(">HI", payload[offset:offset + 6])
                    advertised[SETTINGS_NAMES.get(identifier, identifier)] = value
                    print(f"{SETTINGS_NAMES.get(identifier, identifier)}={value}")
                if expected is not None and advertised.get("MAX_CONCURRENT_STREAMS") != expected:
                    sys.exit(f"MAX_CONCURRENT_STREAMS is {advertised.get('MAX_CONCURRENT_STREAMS')}, not {expected}")
                return


def request(model, row):
    message = service_pb2.ModelInferRequest(model_name=model)
    for name, datatype, value in (("a", "FP64", row), ("b", "FP64", 1.0), ("colour", "BYTES", "red")):
        tensor = message.inputs.add(name=name, datatype=datatype, shape=[1])
        if datatype == "BYTES":
            tensor.contents.bytes_contents.append(value.encode())
        else:
            tensor.contents.fp64_contents.append(value)
    return message


def burst(address, model, calls):
    with grpc.insecure_channel(address) as channel:
        stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
        stub.ModelInfer(request(model, 0.0), timeout=30)
        futures = [stub.ModelInfer.future(request(model, float(i % 50)), timeout=60) for i in range(calls)]
        failures = []
        for future in futures:
            try:
                future.result()
            except grpc.RpcError as error:
                failures.append(f"{error.code().name}: {error.details()}")
    print(f"ok={calls - len(failures)} failed={len(failures)}")
    if failures:
        print("first failure:", failures[0])
        sys.exit(1)


if __name__ == "__main__":
    if sys.argv[2] == "settings":
        settings(sys.argv[1], int(sys.argv[3]) if len(sys.argv) > 3 else None)
    else:
        burst(sys.argv[1], sys.argv[3], int(sys.argv[4]))

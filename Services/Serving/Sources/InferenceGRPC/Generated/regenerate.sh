#!/usr/bin/env bash
# Regenerates the Open Inference Protocol's gRPC messages and service
# (package `inference`, service `GRPCInferenceService`) from the protocol
# definition that KServe's PyPI wheel ships, compiled into its
# grpc_predict_v2_pb2.py as a serialized FileDescriptorProto. Run once when
# moving to a new protocol revision; the output is committed so builds never
# need protoc or the plugins.
#   needs: protoc (Debian: protobuf-compiler), python3 with pip, and the two
#          plugins built from the package mirror's copies (in any package that
#          depends on apple/swift-protobuf 1.39.0 and grpc/grpc-swift-protobuf 2.4.1):
#          swift build --product protoc-gen-swift && swift build --product protoc-gen-grpc-swift-2
#   usage: PROTOC_GEN_SWIFT=… PROTOC_GEN_GRPC_SWIFT=… regenerate.sh [kserve-version]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="${1:-0.21.0}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$work" "kserve==$version"
python3 -m zipfile -e "$work"/kserve-*.whl "$work/wheel"
# The wheel carries the compiled descriptor, not the .proto: wrap it in a
# FileDescriptorSet (field 1, length-delimited) that protoc reads as its input.
python3 - "$work/wheel/kserve/protocol/grpc/grpc_predict_v2_pb2.py" "$work/set.pb" <<'PY'
import ast, sys
tree = ast.parse(open(sys.argv[1]).read())
descriptor = next(node.args[0].value for node in ast.walk(tree)
                  if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "AddSerializedFile")
length, size = b"", len(descriptor)
while True:
    length += bytes([(size & 0x7F) | (0x80 if size > 0x7F else 0)])
    size >>= 7
    if not size:
        break
open(sys.argv[2], "wb").write(b"\x0a" + length + descriptor)
PY
protoc --descriptor_set_in="$work/set.pb" \
  --plugin=protoc-gen-swift="${PROTOC_GEN_SWIFT:?set PROTOC_GEN_SWIFT}" \
  --plugin=protoc-gen-grpc-swift="${PROTOC_GEN_GRPC_SWIFT:?set PROTOC_GEN_GRPC_SWIFT}" \
  --swift_out="$here" --swift_opt=Visibility=Internal \
  --grpc-swift_out="$here" --grpc-swift_opt=Visibility=Internal,Server=true,Client=false \
  grpc_predict_v2.proto
# Generated code is not ours to format. swift-protobuf's messages are
# `@unchecked Sendable` where they keep copy-on-write heap storage, which is
# safe because that storage is never mutated while shared.
for file in "$here"/grpc_predict_v2.pb.swift "$here"/grpc_predict_v2.grpc.swift; do
  { echo "// swift-format-ignore-file"; cat "$file"; } > "$work/generated.swift"
  mv "$work/generated.swift" "$file"
done
echo "wrote $here/grpc_predict_v2.{pb,grpc}.swift from kserve $version"

#!/usr/bin/env bash
# Regenerates onnx-ml.pb.swift from the onnx-ml.proto that the `onnx` PyPI
# wheel ships. Run once when moving to a new ONNX release; the output is
# committed so builds never need protoc or the plugin.
#   needs: protoc (Debian: protobuf-compiler), python3 with pip,
#          protoc-gen-swift built from apple/swift-protobuf 1.39.0:
#          swift build -c release --product protoc-gen-swift  (in its checkout)
#   usage: PROTOC_GEN_SWIFT=/path/to/protoc-gen-swift Shared/ONNX/Generated/regenerate.sh [onnx-version]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="${1:-1.23.2}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$work" "onnx==$version"
python3 -m zipfile -e "$work"/onnx-*.whl "$work/wheel"
mkdir -p "$work/proto"
# The proto declares package onnx; generate with the names swift-protobuf gives it (Onnx_ModelProto, …).
cp "$work/wheel/onnx/onnx-ml.proto" "$work/proto/"
protoc --plugin=protoc-gen-swift="${PROTOC_GEN_SWIFT:?set PROTOC_GEN_SWIFT}" \
  --proto_path="$work/proto" --swift_out="$here" --swift_opt=Visibility=Internal "$work/proto/onnx-ml.proto"
# Generated code is not ours to format; swift-protobuf's messages are
# `@unchecked Sendable` where they keep copy-on-write heap storage, which is
# safe because that storage is never mutated while shared.
{ echo "// swift-format-ignore-file"; cat "$here/onnx-ml.pb.swift"; } > "$work/generated.swift"
mv "$work/generated.swift" "$here/onnx-ml.pb.swift"
echo "wrote $here/onnx-ml.pb.swift from onnx $version"

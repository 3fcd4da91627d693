"""Writes ONNX's own node conformance cases (onnx.backend.test.case.node,
the cases `onnx.backend.test.cmd_tools generate-data` writes for models)
for the operators Conveyor claims, in the backend test-data layout:
OUT/<case>/model.onnx and OUT/<case>/test_data_set_N/{input,output}_K.pb.

usage: python onnx_node_cases.py OUT_DIR OPERATOR [OPERATOR ...]
Operators are `domain.Name` (ai.onnx.Add, ai.onnx.ml.TreeEnsemble). A case
is written when every node of its graph uses a claimed operator; OUT/index.json
lists the cases by operator and those left out because an input or output
is not a tensor (sequences, maps, optionals).
"""
import json
import os
import sys

from onnx import numpy_helper
from onnx.backend.test.case import node

out, claimed = sys.argv[1], set(sys.argv[2:])
index = {"cases": {}, "not_tensors": []}


def key(n):
    return f"{n.domain or 'ai.onnx'}.{n.op_type}"


for case in node.collect_testcases(None):
    ops = {key(n) for n in case.model.graph.node}
    if not ops <= claimed:
        continue
    values = list(case.model.graph.input) + list(case.model.graph.output)
    if not all(v.type.HasField("tensor_type") for v in values):
        index["not_tensors"].append(case.name)
        continue
    directory = os.path.join(out, case.name)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "model.onnx"), "wb") as f:
        f.write(case.model.SerializeToString())
    for i, (inputs, outputs) in enumerate(case.data_sets):
        data = os.path.join(directory, f"test_data_set_{i}")
        os.makedirs(data, exist_ok=True)
        for kind, arrays, infos in (("input", inputs, case.model.graph.input), ("output", outputs, case.model.graph.output)):
            for j, array in enumerate(arrays):
                tensor = array if hasattr(array, "SerializeToString") else numpy_helper.from_array(array, infos[j].name)
                with open(os.path.join(data, f"{kind}_{j}.pb"), "wb") as f:
                    f.write(tensor.SerializeToString())
    for op in ops:
        index["cases"].setdefault(op, []).append(case.name)
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump(index, f, indent=1, sort_keys=True)
print(f"wrote {sum(len(v) for v in index['cases'].values())} case-operator pairs")

"""Writes small ONNX models, one valid and several broken, for the trainer's
bad-file tests (Tests/IntegrationTests/ONNXBadModelTests).

usage: python onnx_bad_models.py OUT_DIR
The valid model is y = 2a + 3b - c + 1 over one [N, 3] float input "X".
"""
import sys

import onnx
from onnx import TensorProto, helper

out = sys.argv[1]
ML = helper.make_opsetid("ai.onnx.ml", 3)
CORE = helper.make_opsetid("", 17)


def save(name, nodes, inputs, outputs, initializers=()):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[CORE, ML], producer_name="conveyor-tests")
    model.ir_version = 8
    with open(f"{out}/{name}.onnx", "wb") as f:
        f.write(model.SerializeToString())
    return model


x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 3])
y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 1])
linear = helper.make_node("LinearRegressor", ["X"], ["Y"], domain="ai.onnx.ml", coefficients=[2.0, 3.0, -1.0],
                          intercepts=[1.0])
valid = save("valid", [linear], [x], [y])

data = valid.SerializeToString()
with open(f"{out}/truncated.onnx", "wb") as f:
    f.write(data[: len(data) // 2])

save("unknown_operator", [helper.make_node("FancyOp", ["X"], ["Y"])], [x], [y])

cycle = [helper.make_node("Add", ["X", "B"], ["A"], name="first"), helper.make_node("Add", ["A", "X"], ["B"], name="second"),
         helper.make_node("LinearRegressor", ["A"], ["Y"], domain="ai.onnx.ml", coefficients=[1.0, 1.0, 1.0])]
save("cycle", cycle, [x], [y])

wide = helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 5])
save("wrong_width", [helper.make_node("LinearRegressor", ["X"], ["Y"], domain="ai.onnx.ml",
                                      coefficients=[1.0] * 5)], [wide], [y])

shape = helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 7])
save("reshape_mismatch", [helper.make_node("Reshape", ["X", "shape"], ["R"]),
                          helper.make_node("LinearRegressor", ["R"], ["Y"], domain="ai.onnx.ml", coefficients=[1.0] * 7)],
     [x], [y], [shape])

columns = [helper.make_tensor_value_info("a", TensorProto.STRING, [None, 1]),
           helper.make_tensor_value_info("b", TensorProto.FLOAT, [None, 1]),
           helper.make_tensor_value_info("c", TensorProto.FLOAT, [None, 1])]
save("string_for_number", [helper.make_node("Concat", ["b", "c"], ["BC"], axis=1),
                           helper.make_node("LinearRegressor", ["BC"], ["Y"], domain="ai.onnx.ml", coefficients=[1.0, 1.0])],
     columns, [y])
print("wrote 7 models")

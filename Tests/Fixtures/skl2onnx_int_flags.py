"""Imported for its effect: skl2onnx passes nodes_missing_value_tracks_true as booleans, which
current onnx refuses in an int list; hand them over as 0 and 1 (what the attribute holds anyway).
"""
import numpy as np
import skl2onnx.common._container as skl2onnx_container

_make_node = skl2onnx_container.make_node


def _int_flags(value):
    if isinstance(value, np.ndarray) and value.dtype == bool:
        return value.astype(np.int64)
    if isinstance(value, (list, tuple)) and any(isinstance(v, (bool, np.bool_)) for v in value):
        return [int(v) for v in value]
    return value


skl2onnx_container.make_node = lambda *args, **kwargs: _make_node(*args, **{k: _int_flags(v) for k, v in kwargs.items()})

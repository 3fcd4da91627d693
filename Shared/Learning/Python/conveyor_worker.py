"""Conveyor's Python model worker: trains and serves a repository's own `main.py`.

The trainer and serving start this file (inside the sandbox, with the version's
own interpreter) in one of two modes:

  conveyor_worker.py train --module M --train TRAIN.csv --test TEST.csv --spec SPEC.json --output DIR
  conveyor_worker.py serve --module M --model DIR [--spec SPEC.json]
  conveyor_worker.py serve --mlflow --model DIR [--spec SPEC.json]

An MLflow model (`--mlflow`) is the files of its MLmodel directory, kept in DIR
under the prefix "mlflow." (the directory must be flat); the worker checks their
combined hash (sha256 over each sorted name, a NUL and the file's own sha256)
against CONVEYOR_MODEL_SHA256, copies them into a private directory and loads it
with mlflow.pyfunc.load_model; predict calls the pyfunc's predict.

The module defines, as module-level functions or as methods of a class `Model`
(built with no arguments): train(dataset) -> model, predict(model, features),
and optionally predict_proba(model, features), evaluate(model, dataset), info().
Each name is looked up as a module-level function first, then on Model. The
module is imported as `import main` would from its own directory, so classes it
defines pickle as main.ClassName and load again in serve mode.

DataFrames (train's dataset, evaluate's, predict's features): the manifest's
features in its order; numeric float64, boolean float64 0/1, date datetime64,
categorical pandas' text dtype (object in pandas 2, str in pandas 3); missing
values NaN/NaT; then the target (float64, or text for classification). A
forecast gets only the date column (datetime64) and the target, sorted by date.

SPEC.json: {"task": "regression" | "classification" | "forecast", "target": "y",
"features": [{"name": ..., "type": "numeric" | "categorical" | "boolean" | "date"}],
"date_column": "date" (forecast only)}. Train mode copies it to DIR/spec.json,
which serve mode reads when --spec is not given.

Train writes DIR/model.pkl, DIR/model.format ("pickle" or "bytes"), DIR/info.json,
DIR/reported_metrics.json, DIR/environment.json and DIR/spec.json, and exits 0.
Any failure: one JSON line on stderr, {"error": {"type", "message", "function",
"traceback"}}, written last, and exit 2 (3 when serve refuses the model's hash).

Serve: frames on stdin/stdout, each a 4-byte big-endian unsigned length and that
many bytes of UTF-8 JSON; one answer per request, in order. Requests:
  {"op": "predict", "columns": [...], "rows": [[...], ...], "classes": [...]?}
      -> {"ok": true, "predictions": [...], "probabilities": [[...], ...]?}
  {"op": "forecast", "horizon": N} -> {"ok": true, "predictions": [N floats]}
  {"op": "info"} -> {"ok": true, "info": {...}}
  {"op": "ping"} -> {"ok": true}
A failure answers {"ok": false, "error": {"type", "message", "function",
"traceback"[, "row"]}} and the loop goes on. A request's "id", when given, is
echoed in its answer. EOF on stdin between frames ends the worker (exit 0).
"""

import gc
import hashlib
import importlib.util
import json
import math
import os
import pickle
import struct
import subprocess
import sys
import traceback

# numpy and pandas are imported by _libraries(), after serve mode has set the
# thread defaults they read at import time.
np = None
pd = None
TEXT_DTYPE = None

HEADER = struct.Struct(">I")
MAX_FRAME = 1 << 28  # 256 MiB: a length beyond it means the stream is out of step
PICKLE_PROTOCOL = 5
# Conveyor's own missing-value markers (CSVTable.missingMarkers), so a CSV field
# means the same thing here as in the trainer's validation.
MISSING = frozenset(["", "NA", "N/A", "na", "n/a", "null", "NULL", "None", "NaN", "nan"])
TRUE_TEXT = frozenset(["true", "1", "yes", "t", "y"])
FALSE_TEXT = frozenset(["false", "0", "no", "f", "n"])
KINDS = {"numeric": "numeric", "categorical": "categorical", "boolean": "boolean", "bool": "boolean", "date": "date"}
TASKS = ("regression", "classification", "forecast")
MESSAGE_LIMIT = 2000
TRACEBACK_LIMIT = 8000


def _libraries():
    global np, pd, TEXT_DTYPE
    if pd is None:
        import numpy
        import pandas

        np, pd = numpy, pandas
        # The dtype pd.read_csv gives text in this environment (object in pandas 2,
        # str in pandas 3), so a model sees what its author saw reading the CSV.
        TEXT_DTYPE = pandas.Series(["a"]).dtype


class WorkerError(Exception):
    """A failure the worker reports itself (not an exception from user code)."""

    def __init__(self, type_, message, function=None, row=None):
        super().__init__(message)
        self.type = type_
        self.message = message
        self.function = function
        self.row = row


class UserError(Exception):
    """An exception raised by the repository's code, with the function it came from."""

    def __init__(self, function, error):
        super().__init__(str(error))
        self.function = function
        self.error = error


def _clip(text, limit):
    return text if len(text) <= limit else text[:limit] + "…"


def _user_traceback(error):
    # Skip the worker's own frames: the reader wants the repository's code.
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    text = "".join(traceback.format_exception(type(error), error, tb if tb is not None else error.__traceback__))
    return text if len(text) <= TRACEBACK_LIMIT else "…" + text[-TRACEBACK_LIMIT:]


def error_object(error):
    if isinstance(error, UserError):
        inner = error.error
        return {
            "type": type(inner).__name__,
            "message": _clip(str(inner), MESSAGE_LIMIT),
            "function": error.function,
            "traceback": _user_traceback(inner),
        }
    if isinstance(error, WorkerError):
        body = {"type": error.type, "message": _clip(error.message, MESSAGE_LIMIT), "function": error.function,
                "traceback": ""}
        if error.row is not None:
            body["row"] = error.row
        return body
    return {"type": type(error).__name__, "message": _clip(str(error), MESSAGE_LIMIT), "function": None,
            "traceback": _user_traceback(error)}


def call(function_name, function, *args):
    try:
        return function(*args)
    except (Exception, SystemExit) as error:  # SystemExit too: sys.exit() in predict must not end the worker
        raise UserError(function_name, error) from error


# ------------------------------------------------------------------ the module


def load_module(path):
    """Imports the repository's module as `python -c 'import main'` would from its directory.

    Classes it defines then pickle as main.ClassName, which a later process
    (serve mode) resolves by loading the module the same way first.
    """
    path = os.path.abspath(path)
    directory, filename = os.path.split(path)
    name, extension = os.path.splitext(filename)
    if extension != ".py" or not os.path.isfile(path):
        raise WorkerError("ModuleNotFound", "module %s is not a .py file" % path, "import")
    if not name.isidentifier():
        raise WorkerError("ModuleName", "%s: a module's file name must be a Python identifier, like main.py" % filename,
                          "import")
    stdlib = getattr(sys, "stdlib_module_names", ())
    if name in sys.modules or name in stdlib or name == "conveyor_model_module":
        raise WorkerError("ModuleName", "%s would shadow Python's own module %s; rename the file" % (filename, name),
                          "import")
    # The module's directory replaces the worker's own on the path, as for `python main.py`.
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and sys.path[0] and os.path.abspath(sys.path[0]) == here:
        sys.path.pop(0)
    sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.modules["conveyor_model_module"] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as error:
        del sys.modules[name], sys.modules["conveyor_model_module"]
        raise UserError("import", error) from error
    return module


class Entry:
    """The module's entry points: a module-level function first, else Model's method."""

    def __init__(self, module, filename):
        self.module = module
        self.filename = filename
        self._instance = None
        self._cache = {}

    def find(self, name):
        if name not in self._cache:
            function = getattr(self.module, name, None)
            if not callable(function) or isinstance(function, type):
                function = None
                cls = getattr(self.module, "Model", None)
                if isinstance(cls, type) and callable(getattr(cls, name, None)):
                    if self._instance is None:
                        self._instance = call("Model", cls)
                    function = getattr(self._instance, name)
            self._cache[name] = function
        return self._cache[name]

    def require(self, name):
        function = self.find(name)
        if function is None:
            raise WorkerError("ContractError",
                              "%s defines no %s (a function or Model.%s)" % (self.filename, name, name), name)
        return function


# ------------------------------------------------------------------ spec and frames


def read_spec(path):
    try:
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
    except (OSError, ValueError) as error:
        raise WorkerError("SpecError", "cannot read the spec %s: %s" % (path, error))
    return check_spec(spec)


def check_spec(spec):
    if not isinstance(spec, dict):
        raise WorkerError("SpecError", "the spec must be a JSON object")
    if spec.get("task") not in TASKS:
        raise WorkerError("SpecError", "spec.task must be regression, classification or forecast")
    if not isinstance(spec.get("target"), str):
        raise WorkerError("SpecError", "spec.target must be a column name")
    features = spec.get("features") or []
    if not isinstance(features, list):
        raise WorkerError("SpecError", "spec.features must be a list")
    for feature in features:
        if not isinstance(feature, dict) or not isinstance(feature.get("name"), str) or feature.get("type") not in KINDS:
            raise WorkerError("SpecError", "each spec feature needs a name and a type (numeric, categorical, boolean, "
                                           "date), got %s" % json.dumps(feature)[:200])
    if spec["task"] == "forecast" and not isinstance(spec.get("date_column"), str):
        raise WorkerError("SpecError", "spec.date_column is required for a forecast")
    if spec["task"] != "forecast" and not features:
        raise WorkerError("SpecError", "spec.features must list at least one feature")
    return spec


def _text(value):
    # A value for a categorical column: as Conveyor's encoder turns JSON into category text.
    if value is None:
        return np.nan
    if isinstance(value, str):
        return np.nan if value in MISSING else value  # as in the training CSV
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:
            return np.nan
        if abs(value) < 1e15 and value == int(value):
            return str(int(value))
    return str(value)


def _boolean(value):
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = str(value).lower()
    if text in TRUE_TEXT:
        return 1.0
    if text in FALSE_TEXT:
        return 0.0
    if value in MISSING:
        return None
    raise ValueError("must be true or false, got %r" % (value,))


def _dates(values):
    values = [None if (v is None or v in MISSING) else v for v in values]
    try:
        return pd.to_datetime(values, format="ISO8601")
    except (TypeError, ValueError):  # pandas before 2.0 has no ISO8601 format; it parses these unaided
        return pd.to_datetime(values)


def column(kind, values):
    """One column of a model's DataFrame from JSON-like values (None is missing)."""
    if kind == "numeric":
        return np.array(values, dtype=np.float64)
    if kind == "categorical":
        return pd.array([_text(v) for v in values], dtype=TEXT_DTYPE)
    if kind == "boolean":
        return np.array([_boolean(v) for v in values], dtype=np.float64)
    return _dates(values)


class FramePlan:
    """How a request's columns become the model's DataFrame, in manifest order."""

    def __init__(self, features):
        _libraries()
        self.names = [f["name"] for f in features]
        self.kinds = [KINDS[f["type"]] for f in features]
        self.index = pd.Index(self.names)
        self.all_numeric = all(k == "numeric" for k in self.kinds)
        self._positions = {}

    def positions(self, columns):
        """Where each manifest column sits in the request, and whether that is simply in order."""
        key = tuple(columns)
        found = self._positions.get(key)
        if found is None:
            where = {name: i for i, name in enumerate(columns)}
            missing = [n for n in self.names if n not in where]
            if missing:
                raise WorkerError("ProtocolError", "the request lacks the column(s) %s" % ", ".join(missing))
            positions = [where[n] for n in self.names]
            found = positions, positions == list(range(len(columns)))
            if len(self._positions) >= 64:  # one or two layouts in practice; never a growing cache
                self._positions.clear()
            self._positions[key] = found
        return found

    def frame_from_rows(self, columns, rows):
        positions, in_order = self.positions(columns)
        width = len(columns)
        if self.all_numeric and in_order:
            # One float64 block, laid out as pd.read_csv or a dict of columns would give it
            # (column-major), so matrix products add up in the same order as in training.
            try:
                values = np.array(rows, dtype=np.float64)
            except (TypeError, ValueError) as error:
                raise WorkerError("ProtocolError", "rows must be lists of %d numbers or nulls: %s" % (width, error))
            if values.ndim != 2 or values.shape[1] != width:
                if len(rows) == 0:
                    values = np.empty((0, width))
                else:
                    raise WorkerError("ProtocolError", "each row must have %d values" % width)
            return pd.DataFrame(np.asfortranarray(values), columns=self.index, copy=False)
        for row in rows:
            if not isinstance(row, list) or len(row) != width:
                raise WorkerError("ProtocolError", "each row must be a list of %d values" % width)
        transposed = list(zip(*rows)) if rows else [()] * width
        return self.frame_from_columns([transposed[p] for p in positions])

    def frame_from_columns(self, values):
        data = {}
        for name, kind, vals in zip(self.names, self.kinds, values):
            try:
                data[name] = column(kind, vals)
            except (TypeError, ValueError) as error:
                raise WorkerError("ProtocolError", "column %s (%s): %s" % (name, kind, error))
        if self.all_numeric:
            matrix = np.empty((len(values[0]) if values else 0, len(self.names)), order="F")
            for i, name in enumerate(self.names):
                matrix[:, i] = data[name]
            return pd.DataFrame(matrix, columns=self.index, copy=False)
        return pd.DataFrame(data, columns=self.index, copy=False)


def _csv_numbers(values, where):
    out = []
    for line, text in enumerate(values, start=2):
        if text in MISSING or not text.strip():
            out.append(None)
        else:
            try:
                out.append(float(text))
            except ValueError:
                raise WorkerError("DataError", "%s line %d: %r is not a number" % (where, line, text))
    return out


def read_dataset(path, spec):
    """The DataFrame train or evaluate gets: features in manifest order plus the target
    (a forecast: the date column and the target, sorted by date)."""
    _libraries()
    name = os.path.basename(path)
    try:
        raw = pd.read_csv(path, dtype=object, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    except Exception as error:
        raise WorkerError("DataError", "cannot read %s: %s" % (name, error))
    task, target = spec["task"], spec["target"]
    needed = [spec["date_column"], target] if task == "forecast" else [f["name"] for f in spec["features"]] + [target]
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        raise WorkerError("DataError", "%s lacks the column(s) %s" % (name, ", ".join(missing)))

    def target_column():
        values = raw[target].tolist()
        if task == "classification":
            return pd.array([np.nan if v in MISSING else v for v in values], dtype=TEXT_DTYPE)
        return np.array(_csv_numbers(values, "%s column %s" % (name, target)), dtype=np.float64)

    if task == "forecast":
        date = spec["date_column"]
        try:
            dates = _dates(raw[date].tolist())
        except (TypeError, ValueError) as error:
            raise WorkerError("DataError", "%s column %s: %s" % (name, date, error))
        frame = pd.DataFrame({date: dates, target: target_column()})
        return frame.sort_values(date, kind="stable").reset_index(drop=True)
    plan = FramePlan(spec["features"])
    values = []
    for feature, kind in zip(spec["features"], plan.kinds):
        texts = raw[feature["name"]].tolist()
        values.append(_csv_numbers(texts, "%s column %s" % (name, feature["name"])) if kind == "numeric"
                      else [None if t in MISSING else t for t in texts])
    frame = plan.frame_from_columns(values)
    frame[target] = target_column()
    return frame


# ------------------------------------------------------------------ answers


def _sequence(result, function, expected, unit):
    """A user function's result as a 1-D numpy array of `expected` values."""
    if isinstance(result, pd.DataFrame):
        if result.shape[1] != 1:
            raise WorkerError("ContractError", "%s returned a DataFrame of %d columns; expected one value per %s"
                              % (function, result.shape[1], unit[:-1]), function)
        result = result.iloc[:, 0]
    if isinstance(result, (pd.Series, pd.Index)):
        result = result.to_numpy()
    if isinstance(result, (str, bytes, dict)) or np.ndim(result) == 0:
        raise WorkerError("ContractError", "%s returned a single %s, not one value per %s"
                          % (function, type(result).__name__, unit[:-1]), function)
    if not isinstance(result, (np.ndarray, list, tuple)):
        try:
            result = list(result)
        except TypeError:
            raise WorkerError("ContractError", "%s returned a %s, not a sequence" % (function, type(result).__name__),
                              function)
    try:
        array = result if isinstance(result, np.ndarray) else np.asarray(result)
    except ValueError:  # ragged nested lists
        array = np.asarray(result, dtype=object)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise WorkerError("ContractError", "%s returned an array of shape %s; expected %d values"
                          % (function, tuple(array.shape), expected), function)
    if len(array) != expected:
        raise WorkerError("ContractError", "%s returned %d values for %d %s" % (function, len(array), expected, unit),
                          function)
    return array


def numbers(result, function, expected, unit="rows"):
    array = _sequence(result, function, expected, unit)
    if array.dtype.kind not in "fiub":
        for i, value in enumerate(array.tolist()):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise WorkerError("ContractError", "%s returned a %s at row %d; expected numbers"
                                  % (function, type(value).__name__, i), function, i)
    array = array.astype(np.float64, copy=False)
    finite = np.isfinite(array)
    if not finite.all():
        bad = int(np.flatnonzero(~finite)[0])
        raise WorkerError("ContractError", "%s returned a non-finite value at row %d" % (function, bad), function, bad)
    return array.tolist()


def labels(result, classes, expected):
    array = _sequence(result, "predict", expected, "rows")
    out = []
    for i, value in enumerate(array.tolist()):
        if value is None or isinstance(value, float) and value != value:
            raise WorkerError("ContractError", "predict returned no label at row %d" % i, "predict", i)
        out.append(value if isinstance(value, str) else _text(value))
    if classes is not None:
        known = set(classes)
        for i, label in enumerate(out):
            if label not in known:
                raise WorkerError("ContractError", "predict returned %r at row %d, not one of the classes %s"
                                  % (label, i, ", ".join(classes[:20])), "predict", i)
    return out


def probabilities(result, classes, expected):
    if isinstance(result, pd.DataFrame):
        by_name = {str(c): c for c in result.columns}
        absent = [c for c in classes if c not in by_name]
        if absent:
            raise WorkerError("ContractError", "predict_proba's columns lack the class(es) %s" % ", ".join(absent[:20]),
                              "predict_proba")
        result = result[[by_name[c] for c in classes]].to_numpy()
    try:
        array = np.asarray(result, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise WorkerError("ContractError", "predict_proba returned non-numbers: %s" % error, "predict_proba")
    if array.shape != (expected, len(classes)):
        raise WorkerError("ContractError", "predict_proba returned shape %s; expected (%d, %d): one column per class "
                          "(%s)" % (tuple(array.shape), expected, len(classes), ", ".join(classes[:20])),
                          "predict_proba")
    finite = np.isfinite(array)
    if not finite.all():
        bad = int(np.flatnonzero(~finite.all(axis=1))[0])
        raise WorkerError("ContractError", "predict_proba returned a non-finite value at row %d" % bad,
                          "predict_proba", bad)
    return array.tolist()


def jsonable(value, depth=0):
    """info()'s dict as plain JSON: numpy scalars and arrays unwrapped, non-finite floats null."""
    if depth > 50:
        raise ValueError("nested too deep")
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v, depth + 1) for v in value]
    if np is not None:
        if isinstance(value, np.generic):
            return jsonable(value.item(), depth + 1)
        if isinstance(value, np.ndarray):
            return jsonable(value.tolist(), depth + 1)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def metrics(result):
    """evaluate()'s dict: names to finite numbers, as recorded beside Conveyor's metrics."""
    if not isinstance(result, dict):
        raise WorkerError("ContractError", "evaluate returned a %s; expected a dict of metric names to numbers"
                          % type(result).__name__, "evaluate")
    out = {}
    for name, value in result.items():
        if np is not None and isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise WorkerError("ContractError", "evaluate returned %r for %r; metrics must be finite numbers"
                              % (value, str(name)), "evaluate")
        out[str(name)] = value
    return out


def info_dict(entry):
    function = entry.find("info")
    if function is None:
        return {}
    result = call("info", function)
    if not isinstance(result, dict):
        raise WorkerError("ContractError", "info returned a %s; expected a dict" % type(result).__name__, "info")
    return jsonable(result)


# ------------------------------------------------------------------ train


def pip_freeze():
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    try:
        done = subprocess.run([sys.executable, "-m", "pip", "freeze"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env, timeout=120, check=True)
    except (OSError, subprocess.SubprocessError):
        return []
    return [line for line in done.stdout.decode("utf-8", "replace").splitlines() if line.strip()]


def write(directory, name, data):
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def write_json(directory, name, value):
    write(directory, name, (json.dumps(value, indent=2, sort_keys=True, allow_nan=False) + "\n").encode("utf-8"))


def train(args):
    _libraries()
    spec = read_spec(args.spec)
    module = load_module(args.module)
    entry = Entry(module, os.path.basename(args.module))
    train_function = entry.require("train")
    entry.require("predict")
    training = read_dataset(args.train, spec)
    model = call("train", train_function, training)
    if isinstance(model, (bytes, bytearray, memoryview)):
        payload, form = bytes(model), "bytes"
    else:
        try:
            payload, form = pickle.dumps(model, protocol=PICKLE_PROTOCOL), "pickle"
        except Exception as error:
            raise WorkerError("ContractError", "train returned a model that cannot be pickled (%s: %s)"
                              % (type(error).__name__, _clip(str(error), 500)), "train")
    evaluate = entry.find("evaluate")
    reported = {}
    if evaluate is not None:
        test = read_dataset(args.test, spec)
        reported = metrics(call("evaluate", evaluate, model, test))
    information = info_dict(entry)
    os.makedirs(args.output, exist_ok=True)
    write(args.output, "model.pkl", payload)
    write(args.output, "model.format", form.encode())
    write_json(args.output, "info.json", information)
    write_json(args.output, "reported_metrics.json", reported)
    write_json(args.output, "spec.json", spec)
    write_json(args.output, "environment.json", {"python": sys.version, "freeze": pip_freeze()})
    return 0


# ------------------------------------------------------------------ serve


class Server:
    def __init__(self, entry, spec, model):
        self.entry = entry
        self.spec = spec
        self.model = model
        self.task = spec["task"]
        self.plan = FramePlan(spec["features"]) if self.task != "forecast" else None
        self.predict = entry.require("predict")
        self.predict_proba = entry.find("predict_proba")

    def handle(self, body):
        request_id = None
        try:
            try:
                request = json.loads(body)
            except ValueError as error:
                raise WorkerError("ProtocolError", "the request is not JSON: %s" % error)
            if not isinstance(request, dict):
                raise WorkerError("ProtocolError", "a request must be a JSON object")
            request_id = request.get("id")
            op = request.get("op")
            if op == "predict":
                answer = self.answer_predict(request)
            elif op == "forecast":
                answer = self.answer_forecast(request)
            elif op == "info":
                answer = {"ok": True, "info": info_dict(self.entry)}
            elif op == "ping":
                answer = {"ok": True}
            else:
                raise WorkerError("ProtocolError", "unknown op %r (predict, forecast, info, ping)" % (op,))
        except (WorkerError, UserError) as error:
            answer = {"ok": False, "error": error_object(error)}
        except Exception as error:  # the worker's own bug: still an answer, never a dead stream
            answer = {"ok": False, "error": error_object(error)}
        if request_id is not None:
            answer["id"] = request_id
        return answer

    def answer_predict(self, request):
        if self.task == "forecast":
            raise WorkerError("ProtocolError", "a forecast model answers op forecast, not predict")
        columns, rows = request.get("columns"), request.get("rows")
        if not isinstance(columns, list) or not isinstance(rows, list):
            raise WorkerError("ProtocolError", "predict needs columns (a list of names) and rows (a list of lists)")
        classes = request.get("classes")
        if classes is not None and (not isinstance(classes, list) or not all(isinstance(c, str) for c in classes)):
            raise WorkerError("ProtocolError", "classes must be a list of class names")
        n = len(rows)
        if n == 0:
            return {"ok": True, "predictions": []}
        features = self.plan.frame_from_rows(columns, rows)
        result = call("predict", self.predict, self.model, features)
        if self.task == "regression":
            return {"ok": True, "predictions": numbers(result, "predict", n)}
        answer = {"ok": True, "predictions": labels(result, classes, n)}
        if classes is not None and self.predict_proba is not None and request.get("probabilities", True):
            answer["probabilities"] = probabilities(
                call("predict_proba", self.predict_proba, self.model, features), classes, n)
        return answer

    def answer_forecast(self, request):
        if self.task != "forecast":
            raise WorkerError("ProtocolError", "op forecast needs a forecast model; this one is %s" % self.task)
        horizon = request.get("horizon")
        if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
            raise WorkerError("ProtocolError", "horizon must be a whole number of steps, at least 1")
        result = call("predict", self.predict, self.model, horizon)
        return {"ok": True, "predictions": numbers(result, "predict", horizon, "steps")}


def write_all(fd, data):
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_model(directory):
    """model.pkl's bytes and form, refused unless they hash to CONVEYOR_MODEL_SHA256 when that is set."""
    path = os.path.join(directory, "model.pkl")
    try:
        with open(path, "rb") as f:
            payload = f.read()
    except OSError as error:
        raise WorkerError("ModelNotFound", "cannot read %s: %s" % (path, error), "load")
    expected = os.environ.get("CONVEYOR_MODEL_SHA256")
    if expected is not None:
        # Pickles are code: only the artifact the deployment record names is loaded.
        actual = hashlib.sha256(payload).hexdigest()
        if actual != expected.strip().lower():
            raise WorkerError("ModelHashMismatch", "model.pkl has sha256 %s, not the expected %s; refusing to load it"
                              % (actual, expected.strip()), "load")
    try:
        with open(os.path.join(directory, "model.format"), encoding="utf-8") as f:
            form = f.read().strip()
    except OSError:
        form = "pickle"
    if form not in ("pickle", "bytes"):
        raise WorkerError("ModelFormat", "model.format is %r; expected pickle or bytes" % form, "load")
    return payload, form


def unpickle(payload, form):
    if form == "bytes":
        return payload  # train returned a pickle of its own; predict gets it back as it was
    try:
        return pickle.loads(payload)
    except (Exception, SystemExit) as error:
        raise UserError("load", error) from error


MLFLOW_PREFIX = "mlflow."


def mlflow_digest(directory):
    """sha256 over the MLflow files' sorted names, each followed by a NUL and the file's own sha256."""
    digest = hashlib.sha256()
    names = sorted(n for n in os.listdir(directory) if n.startswith(MLFLOW_PREFIX))
    for name in names:
        with open(os.path.join(directory, name), "rb") as f:
            digest.update(name.encode("utf-8") + b"\0" + hashlib.sha256(f.read()).digest())
    return names, digest.hexdigest()


class MlflowEntry:
    """An MLflow pyfunc as the module entry points Server calls: predict only."""

    def __init__(self):
        self.filename = "MLmodel"

    def find(self, name):
        if name == "predict":
            return lambda model, features: model.predict(features)
        return None

    def require(self, name):
        function = self.find(name)
        if function is None:
            raise WorkerError("ContractError", "an MLflow model has no %s" % name, name)
        return function


def load_mlflow(directory):
    names, actual = mlflow_digest(directory)
    if "mlflow.MLmodel" not in names:
        raise WorkerError("ModelNotFound", "%s holds no mlflow.MLmodel" % directory, "load")
    expected = os.environ.get("CONVEYOR_MODEL_SHA256")
    if expected is not None and actual != expected.strip().lower():
        raise WorkerError("ModelHashMismatch", "the MLflow files hash to %s, not the expected %s; refusing to load them"
                          % (actual, expected.strip()), "load")
    import shutil
    import tempfile

    target = tempfile.mkdtemp(prefix="conveyor-mlflow-")
    for name in names:
        shutil.copyfile(os.path.join(directory, name), os.path.join(target, name[len(MLFLOW_PREFIX):]))
    try:
        import mlflow.pyfunc

        return mlflow.pyfunc.load_model(target)
    except (Exception, SystemExit) as error:
        raise UserError("load", error) from error


def serve(args, frames_in, frames_out):
    _libraries()
    spec = read_spec(args.spec or os.path.join(args.model, "spec.json"))
    if args.mlflow:
        server = Server(MlflowEntry(), spec, load_mlflow(args.model))
    else:
        # Read and hash-checked before the module runs, so a refused artifact runs nothing.
        payload, form = read_model(args.model)
        module = load_module(args.module)
        entry = Entry(module, os.path.basename(args.module))
        server = Server(entry, spec, unpickle(payload, form))
        del payload
    # What loading made lives as long as the worker: out of the collector's way.
    gc.collect()
    if hasattr(gc, "freeze"):
        gc.freeze()
    reader = os.fdopen(frames_in, "rb", buffering=1 << 16)
    dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
    while True:
        header = reader.read(4)
        if not header:
            return 0
        if len(header) < 4:
            raise WorkerError("ProtocolError", "stdin ended inside a frame header")
        (length,) = HEADER.unpack(header)
        if length > MAX_FRAME:
            raise WorkerError("ProtocolError", "a frame of %d bytes is over the %d limit" % (length, MAX_FRAME))
        body = reader.read(length)
        if len(body) < length:
            raise WorkerError("ProtocolError", "stdin ended inside a frame (%d of %d bytes)" % (len(body), length))
        answer = server.handle(body)
        try:
            data = dumps(answer).encode("utf-8")
        except (TypeError, ValueError) as error:
            data = dumps({"ok": False, "error": error_object(error)}).encode("utf-8")
        try:
            write_all(frames_out, HEADER.pack(len(data)) + data)
        except BrokenPipeError:
            return 0  # the reader went away: nobody is left to answer


# ------------------------------------------------------------------ main


def parse(argv):
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message):
            raise WorkerError("UsageError", message)

    parser = Parser(prog="conveyor_worker.py")
    modes = parser.add_subparsers(dest="mode")
    training = modes.add_parser("train")
    for flag in ("--module", "--train", "--test", "--spec", "--output"):
        training.add_argument(flag, required=True)
    serving = modes.add_parser("serve")
    serving.add_argument("--module")
    serving.add_argument("--mlflow", action="store_true")
    serving.add_argument("--model", required=True)
    serving.add_argument("--spec")
    args = parser.parse_args(argv)
    if args.mode is None:
        raise WorkerError("UsageError", "the mode must be train or serve")
    if args.mode == "serve" and not args.mlflow and not args.module:
        raise WorkerError("UsageError", "serve needs --module (or --mlflow)")
    return args


def fail(error, status):
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    line = json.dumps({"error": error_object(error)}, ensure_ascii=False)
    os.write(2, (line + "\n").encode("utf-8"))
    return status


def main(argv):
    frames_in = frames_out = None
    if argv[:1] == ["serve"]:
        # Frames own the original stdin and stdout; user code that prints writes to
        # stderr and user code that reads stdin reads nothing, at the descriptor level.
        frames_out = os.dup(1)
        os.dup2(2, 1)
        frames_in = os.dup(0)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        # A pool runs one worker per core: one thread each, unless told otherwise.
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
            os.environ.setdefault(name, "1")
    sys.dont_write_bytecode = True  # no __pycache__ left in the repository's checkout
    try:
        args = parse(argv)
        if args.mode == "train":
            return train(args)
        return serve(args, frames_in, frames_out)
    except WorkerError as error:
        return fail(error, 3 if error.type == "ModelHashMismatch" else 2)
    except UserError as error:
        return fail(error, 2)
    except Exception as error:
        return fail(error, 2)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Drives Shared/Learning/Python/conveyor_worker.py through real pipes, fixture by fixture.

  .local/test-venv/bin/python Tests/Fixtures/python_worker_test.py            every test
  .local/test-venv/bin/python Tests/Fixtures/python_worker_test.py -k hang    tests whose name contains "hang"
  .local/test-venv/bin/python Tests/Fixtures/python_worker_test.py --bench   per-call overhead figures

Each model repository in python_models/ is trained by the worker's train mode,
then served by its serve mode; served answers must equal (==, not approximately)
the oracle: the artifact's model.pkl unpickled in this process and the module's
own predict called on the DataFrame pandas reads from the same CSV.
"""
import os

# The serving workers' thread defaults, set before numpy loads, so the oracle
# does its arithmetic the way the worker does.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import sys  # noqa: E402

sys.dont_write_bytecode = True  # the oracle imports the fixtures' main.py: no __pycache__ beside them

import hashlib  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import pickle  # noqa: E402
import select  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WORKER = os.path.join(ROOT, "Shared", "Learning", "Python", "conveyor_worker.py")
FIXTURES = os.path.join(HERE, "python_models")
WIKI = os.path.join(ROOT, "deploy", "example-wiki")
PYTHON = sys.executable
HEADER = struct.Struct(">I")
MISSING = ["", "NA", "N/A", "na", "n/a", "null", "NULL", "None", "NaN", "nan"]
TEXT = pd.Series(["a"]).dtype
WORK = tempfile.mkdtemp(prefix="conveyor-worker-test-")

# The worker module itself, for the frames it builds (compared with pandas' own reading).
_spec = importlib.util.spec_from_file_location("conveyor_worker_under_test", WORKER)
worker_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker_module)


# ------------------------------------------------------------------ repositories


def repo_path(name):
    return WIKI if name == "example-wiki" else os.path.join(FIXTURES, name)


def manifest(name):
    with open(os.path.join(repo_path(name), "conveyor.yaml")) as f:
        return yaml.safe_load(f)


def spec_of(name):
    """SPEC.json as the trainer derives it from conveyor.yaml."""
    m = manifest(name)
    spec = {"task": m["task"], "target": m["target"],
            "features": [{"name": f["name"], "type": f["type"]} for f in m.get("features") or []]}
    if m["task"] == "forecast":
        spec["date_column"] = m["forecast"]["date"]
    return spec


def data_files(name):
    """train.csv and test.csv; a repository with data.path + split is split here by order, as the trainer does."""
    m, repo = manifest(name), repo_path(name)
    if "train" in m["data"]:
        return os.path.join(repo, m["data"]["train"]), os.path.join(repo, m["data"]["test"])
    table = pd.read_csv(os.path.join(repo, m["data"]["path"]), dtype=str, keep_default_na=False)
    cut = len(table) - int(len(table) * m["data"]["split"]["test_fraction"] + 0.5)  # Swift rounds half up
    directory = os.path.join(WORK, name + "-split")
    os.makedirs(directory, exist_ok=True)
    paths = os.path.join(directory, "train.csv"), os.path.join(directory, "test.csv")
    table.iloc[:cut].to_csv(paths[0], index=False)
    table.iloc[cut:].to_csv(paths[1], index=False)
    return paths


def module_path(name):
    return os.path.join(repo_path(name), manifest(name)["model"].get("module", "main.py"))


def run_train(name, output=None, module=None):
    train, test = data_files(name)
    spec_file = os.path.join(WORK, name + ".spec.json")
    with open(spec_file, "w") as f:
        json.dump(spec_of(name), f)
    output = output or os.path.join(WORK, name + "-artifact")
    shutil.rmtree(output, ignore_errors=True)
    done = subprocess.run(
        [PYTHON, WORKER, "train", "--module", module or module_path(name), "--train", train, "--test", test,
         "--spec", spec_file, "--output", output],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    return done.returncode, done.stdout.decode(), done.stderr.decode(), output


_trained = {}


def trained(name):
    """The fixture's artifact directory, trained once per test run."""
    if name not in _trained:
        status, _, stderr, output = run_train(name)
        assert status == 0, "training %s failed: %s" % (name, stderr[-3000:])
        _trained[name] = output
    return _trained[name]


def error_line(stderr):
    """The worker's error: the last line of stderr, one JSON object."""
    return json.loads(stderr.strip().splitlines()[-1])["error"]


# ------------------------------------------------------------------ the worker over pipes


class Timeout(Exception):
    pass


class Worker:
    """A serve-mode worker on real pipes, as serving runs it (its own process group)."""

    def __init__(self, name, env=None, model=None):
        self.stderr_path = os.path.join(WORK, "%s-%d.stderr" % (name, time.monotonic_ns()))
        self.stderr = open(self.stderr_path, "wb")
        self.process = subprocess.Popen(
            [PYTHON, WORKER, "serve", "--module", module_path(name), "--model", model or trained(name)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, bufsize=0,
            env=env, start_new_session=True)
        self.out = self.process.stdout.fileno()

    def send(self, request):
        self.send_bytes(json.dumps(request).encode())

    def send_bytes(self, body):
        self.process.stdin.write(HEADER.pack(len(body)) + body)

    def _read(self, n, deadline):
        buffer = b""
        while len(buffer) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.out], [], [], left)[0]:
                raise Timeout()
            chunk = os.read(self.out, n - len(buffer))
            if not chunk:
                return None
            buffer += chunk
        return buffer

    def receive(self, timeout=60):
        """The next answer, or None at EOF (the worker is gone)."""
        deadline = time.monotonic() + timeout
        header = self._read(4, deadline)
        if header is None:
            return None
        body = self._read(HEADER.unpack(header)[0], deadline)
        assert body is not None, "EOF inside a frame"
        return json.loads(body)

    def request(self, request, timeout=60):
        self.send(request)
        return self.receive(timeout)

    def close(self):
        """Closes stdin (how the pool stops a worker) and returns its exit status."""
        try:
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        status = self.process.wait(30)
        self.stderr.close()
        return status

    def kill(self):
        os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.wait(30)

    def stderr_text(self):
        if not self.stderr.closed:
            self.stderr.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


# ------------------------------------------------------------------ the oracle


class Oracle:
    """The repository's module imported here as `main`, its model unpickled from the artifact."""

    def __init__(self, name):
        self.name = name
        directory = os.path.dirname(module_path(name))
        for loaded in [m for m in sys.modules if getattr(sys.modules[m], "__file__", None) and
                       os.path.dirname(os.path.abspath(sys.modules[m].__file__)).startswith(FIXTURES)]:
            del sys.modules[loaded]  # another fixture's main.py (and its siblings)
        sys.modules.pop("main", None)
        saved = list(sys.path)
        sys.path.insert(0, directory)
        try:
            self.module = importlib.import_module(os.path.splitext(os.path.basename(module_path(name)))[0])
            artifact = trained(name)
            with open(os.path.join(artifact, "model.pkl"), "rb") as f:
                payload = f.read()
            with open(os.path.join(artifact, "model.format")) as f:
                self.model = payload if f.read() == "bytes" else pickle.loads(payload)
        finally:
            sys.path[:] = saved
        self._instance = None

    def function(self, name):
        found = getattr(self.module, name, None)
        if callable(found) and not isinstance(found, type):
            return found
        if self._instance is None:
            self._instance = self.module.Model()
        return getattr(self._instance, name)

    def predict(self, features):
        return self.function("predict")(self.model, features)

    def predict_proba(self, features, classes):
        result = self.function("predict_proba")(self.model, features)
        if isinstance(result, pd.DataFrame):
            result = result[classes].to_numpy()
        return np.asarray(result, dtype=np.float64)


def oracle_frame(name, csv):
    """The documented DataFrame, read by pandas alone: manifest order, numbers float64,
    categories pandas' text dtype, booleans 0/1, dates datetime64, missing NaN."""
    spec = spec_of(name)
    dtypes = {f["name"]: (np.float64 if f["type"] == "numeric" else TEXT) for f in spec["features"]}
    # Exact decimal-to-double conversion (pandas 3's default; pandas 2 must be asked).
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    frame = pd.read_csv(csv, dtype=dtypes, keep_default_na=False, na_values=MISSING, **exact)
    for f in spec["features"]:
        if f["type"] == "boolean":
            frame[f["name"]] = frame[f["name"]].map({"true": 1.0, "false": 0.0}).astype(np.float64)
        elif f["type"] == "date":
            frame[f["name"]] = pd.to_datetime(frame[f["name"]], format="ISO8601")
    return frame[[f["name"] for f in spec["features"]]]


def request_rows(name, csv):
    """The rows as serving sends them: JSON numbers, text, true/false and null."""
    spec = spec_of(name)
    raw = pd.read_csv(csv, dtype=str, keep_default_na=False)
    rows = []
    for _, record in raw.iterrows():
        row = []
        for f in spec["features"]:
            text = record[f["name"]]
            if text in MISSING:
                row.append(None)
            elif f["type"] == "numeric":
                row.append(float(text))
            elif f["type"] == "boolean":
                row.append(text == "true")
            else:
                row.append(text)
        rows.append(row)
    return [f["name"] for f in spec["features"]], rows


def classes_of(name):
    train, _ = data_files(name)
    return sorted(pd.read_csv(train, dtype=str, keep_default_na=False)[manifest(name)["target"]].unique())


# ------------------------------------------------------------------ tests

TESTS = []


def test(function):
    TESTS.append(function)
    return function


def check_exact_regression(name, singles=25):
    _, test_csv = data_files(name)
    columns, rows = request_rows(name, test_csv)
    frame = oracle_frame(name, test_csv)
    oracle = Oracle(name)
    expected = [float(v) for v in np.asarray(oracle.predict(frame), dtype=np.float64)]
    worker = Worker(name)
    try:
        answer = worker.request({"op": "predict", "columns": columns, "rows": rows})
        assert answer["ok"], answer
        assert answer["predictions"] == expected, "batch predictions differ from the oracle"
        assert all(type(v) is float for v in answer["predictions"])
        for i in range(min(singles, len(rows))):
            one = worker.request({"op": "predict", "columns": columns, "rows": [rows[i]]})
            assert one["ok"], one
            want = float(np.asarray(oracle.predict(frame.iloc[[i]].reset_index(drop=True)), dtype=np.float64)[0])
            assert one["predictions"] == [want], (i, one["predictions"], want)
    finally:
        assert worker.close() == 0


@test
def regressor_train_writes_the_artifact():
    directory = trained("regressor")
    assert sorted(os.listdir(directory)) == ["environment.json", "info.json", "model.format", "model.pkl",
                                             "reported_metrics.json", "spec.json"]
    with open(os.path.join(directory, "model.format")) as f:
        assert f.read() == "pickle"
    with open(os.path.join(directory, "environment.json")) as f:
        environment = json.load(f)
    assert environment["python"] == sys.version
    assert any(line.lower().startswith("scikit-learn==") for line in environment["freeze"]), environment["freeze"][:5]
    with open(os.path.join(directory, "reported_metrics.json")) as f:
        reported = json.load(f)
    assert set(reported) == {"rmse", "mae", "rows"} and reported["rows"] == 365 and reported["rmse"] < 5
    with open(os.path.join(directory, "info.json")) as f:
        assert json.load(f) == {"learner": "RandomForestRegressor", "trees": 50,
                                "weather": ["drizzle", "fog", "rain", "snow", "sun"]}
    with open(os.path.join(directory, "spec.json")) as f:
        assert json.load(f) == spec_of("regressor")


@test
def frames_match_what_pandas_reads():
    for name in ("regressor", "classifier", "pipeline"):
        _, test_csv = data_files(name)
        columns, rows = request_rows(name, test_csv)
        plan = worker_module.FramePlan(spec_of(name)["features"])
        expected = oracle_frame(name, test_csv)
        pd.testing.assert_frame_equal(plan.frame_from_rows(columns, rows), expected, check_exact=True)
        pd.testing.assert_frame_equal(plan.frame_from_rows(columns, rows[:1]), expected.iloc[:1], check_exact=True)
        # Train mode's reading of the CSV gives the same features, plus the target.
        dataset = worker_module.read_dataset(test_csv, spec_of(name))
        pd.testing.assert_frame_equal(dataset[columns], expected, check_exact=True)
        assert list(dataset.columns) == columns + [spec_of(name)["target"]]
    # Columns in another order than the manifest's still make the manifest's order.
    columns, rows = request_rows("pipeline", data_files("pipeline")[1])
    plan = worker_module.FramePlan(spec_of("pipeline")["features"])
    shuffled = plan.frame_from_rows(columns[::-1], [row[::-1] for row in rows])
    pd.testing.assert_frame_equal(shuffled, plan.frame_from_rows(columns, rows), check_exact=True)


@test
def regressor_serves_exactly_the_oracle():
    check_exact_regression("regressor")


@test
def pipeline_with_custom_transformer_serves_exactly_the_oracle():
    with open(os.path.join(trained("pipeline"), "model.pkl"), "rb") as f:
        payload = f.read()
    assert b"PenguinShape" in payload and b"main" in payload
    # By reference: without the repository's module, the pickle does not load.
    bare = subprocess.run([PYTHON, "-c", "import pickle,sys; pickle.loads(sys.stdin.buffer.read())"],
                          input=payload, stderr=subprocess.PIPE, cwd=WORK)
    assert bare.returncode != 0 and b"No module named 'main'" in bare.stderr, bare.stderr[-500:]
    _, test_csv = data_files("pipeline")
    assert oracle_frame("pipeline", test_csv).isna().any().any(), "the test rows should include missing values"
    check_exact_regression("pipeline", singles=len(oracle_frame("pipeline", test_csv)))


@test
def classifier_serves_labels_and_probabilities_exactly():
    _, test_csv = data_files("classifier")
    columns, rows = request_rows("classifier", test_csv)
    classes = classes_of("classifier")
    assert classes == ["Adelie", "Chinstrap", "Gentoo"]
    frame = oracle_frame("classifier", test_csv)
    oracle = Oracle("classifier")
    worker = Worker("classifier")
    try:
        answer = worker.request({"op": "predict", "columns": columns, "rows": rows, "classes": classes})
        assert answer["ok"], answer
        assert answer["predictions"] == [str(v) for v in oracle.predict(frame)]
        assert answer["probabilities"] == oracle.predict_proba(frame, classes).tolist()
        bare = worker.request({"op": "predict", "columns": columns, "rows": rows})
        assert "probabilities" not in bare and bare["predictions"] == answer["predictions"]
        quiet = worker.request({"op": "predict", "columns": columns, "rows": rows, "classes": classes,
                                "probabilities": False})
        assert "probabilities" not in quiet
        for i in range(len(rows)):
            one = worker.request({"op": "predict", "columns": columns, "rows": [rows[i]], "classes": classes})
            single = frame.iloc[[i]].reset_index(drop=True)
            assert one["predictions"] == [str(oracle.predict(single)[0])]
            assert one["probabilities"] == oracle.predict_proba(single, classes).tolist()
        info = worker.request({"op": "info"})
        assert info == {"ok": True, "info": {"learner": "LogisticRegression", "features": [
            "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "island", "sex"]}}
    finally:
        assert worker.close() == 0


def check_forecaster(name, horizons):
    oracle = Oracle(name)
    worker = Worker(name)
    try:
        for horizon in horizons:
            answer = worker.request({"op": "forecast", "horizon": horizon})
            assert answer["ok"], answer
            expected = [float(v) for v in np.asarray(oracle.predict(horizon), dtype=np.float64)]
            assert answer["predictions"] == expected, horizon
        return worker.request({"op": "info"}), worker
    except BaseException:
        worker.kill()
        raise


@test
def forecaster_returning_bytes_serves_exactly_the_oracle():
    with open(os.path.join(trained("forecaster"), "model.format")) as f:
        assert f.read() == "bytes"
    info, worker = check_forecaster("forecaster", [1, 7, 30, 60])
    try:
        assert info == {"ok": True, "info": {"model": "trend x weekday", "unit": "page views per day"}}
        wrong = worker.request({"op": "predict", "columns": ["day"], "rows": [["2025-01-01"]]})
        assert wrong["error"]["type"] == "ProtocolError" and "forecast" in wrong["error"]["message"]
        for horizon in (0, -1, "7", 2.5, True, None):
            bad = worker.request({"op": "forecast", "horizon": horizon})
            assert not bad["ok"] and bad["error"]["type"] == "ProtocolError", (horizon, bad)
        assert worker.request({"op": "ping"}) == {"ok": True}
    finally:
        assert worker.close() == 0


@test
def example_wiki_serves_exactly_the_oracle():
    with open(os.path.join(trained("example-wiki"), "reported_metrics.json")) as f:
        reported = json.load(f)
    assert reported["rmse"] < 6, reported
    info, worker = check_forecaster("example-wiki", [1, 14, 30])
    try:
        assert info["ok"] and info["info"]["learner"] == "RandomForestRegressor", info
    finally:
        assert worker.close() == 0


@test
def predict_raising_answers_the_error_and_the_next_request():
    worker = Worker("misbehaving")
    try:
        columns = ["x", "note"]
        answer = worker.request({"op": "predict", "columns": columns, "rows": [[1.0, "a"], [13, "b"]], "id": 7})
        assert answer["ok"] is False and answer["id"] == 7, answer
        error = answer["error"]
        assert (error["type"], error["message"], error["function"]) == ("ValueError", "x == 13 is unlucky", "predict")
        assert "misbehaving/main.py" in error["traceback"] and "raise ValueError" in error["traceback"]
        assert "conveyor_worker.py" not in error["traceback"]
        ok = worker.request({"op": "predict", "columns": columns, "rows": [[1.0, "a"]]})
        assert ok == {"ok": True, "predictions": [31.0]}, ok
    finally:
        assert worker.close() == 0


@test
def wrong_count_non_finite_and_non_numbers_are_named():
    worker = Worker("misbehaving")
    try:
        columns = ["x", "note"]
        rows = [[1.0, "a"], [2.0, "b"], [21.0, "c"], [3.0, "d"], [4.0, None]]
        count = worker.request({"op": "predict", "columns": columns, "rows": rows})["error"]
        assert count == {"type": "ContractError", "message": "predict returned 4 values for 5 rows",
                         "function": "predict", "traceback": ""}, count
        rows[2][0], rows[4][0] = 5.0, 99.0
        nan = worker.request({"op": "predict", "columns": columns, "rows": rows})["error"]
        assert (nan["message"], nan["row"]) == ("predict returned a non-finite value at row 4", 4), nan
        text = worker.request({"op": "predict", "columns": columns, "rows": [[55.0, "a"]]})["error"]
        assert text["message"] == "predict returned a str at row 0; expected numbers", text
        assert worker.request({"op": "predict", "columns": columns, "rows": [[5.0, "a"]]})["predictions"] == [31.0]
    finally:
        assert worker.close() == 0


@test
def user_prints_reach_stderr_not_the_frames():
    worker = Worker("misbehaving")
    try:
        for _ in range(20):
            answer = worker.request({"op": "predict", "columns": ["x", "note"], "rows": [[1.0, "a"]]})
            assert answer == {"ok": True, "predictions": [31.0]}, answer
        assert worker.request({"op": "info"}) == {"ok": True, "info": {"purpose": "failure cases"}}
    finally:
        assert worker.close() == 0
    logged = worker.stderr_text()
    assert logged.count("predicting 1 rows") == 20 and logged.count("hello written to fd 1") == 20, logged[-500:]
    assert "info prints too" in logged


@test
def a_worker_that_exits_is_eof_on_its_stdout():
    # Serving's side: EOF where an answer was due means the worker died; the request
    # gets 503 and the pool starts a replacement.
    worker = Worker("misbehaving")
    assert worker.request({"op": "ping"}) == {"ok": True}
    assert worker.request({"op": "predict", "columns": ["x", "note"], "rows": [[66.0, "a"]]}) is None
    assert worker.process.wait(30) == 1
    worker.stderr.close()
    replacement = Worker("misbehaving")
    try:
        assert replacement.request({"op": "predict", "columns": ["x", "note"], "rows": [[1.0, "a"]]})["ok"]
    finally:
        assert replacement.close() == 0


@test
def a_hanging_predict_is_a_timeout_then_a_kill():
    # Serving's side: no answer within PYTHON_PREDICT_TIMEOUT is a 504; the worker's
    # process group is killed (SIGKILL: it may ignore SIGTERM) and replaced.
    worker = Worker("misbehaving")
    assert worker.request({"op": "ping"}) == {"ok": True}
    worker.send({"op": "predict", "columns": ["x", "note"], "rows": [[77.0, "a"]]})
    try:
        worker.receive(timeout=1.5)
        raise AssertionError("a hanging predict answered")
    except Timeout:
        pass
    assert worker.process.poll() is None
    assert worker.kill() == -signal.SIGKILL
    worker.stderr.close()


@test
def broken_classifier_labels_and_probabilities_are_named():
    worker = Worker("broken_classifier")
    classes = ["a", "b", "c"]
    try:
        def ask(x):
            return worker.request({"op": "predict", "columns": ["x"], "rows": [[0.0], [x]], "classes": classes})

        assert ask(0.0) == {"ok": True, "predictions": ["a", "a"], "probabilities": [[1 / 3] * 3] * 2}
        label = ask(1.0)["error"]
        assert (label["message"], label["row"]) == ("predict returned 'zebra' at row 1, not one of the classes a, b, c",
                                                    1), label
        assert ask(2.0)["error"]["message"] == ("predict_proba returned shape (2, 2); expected (2, 3): one column per "
                                                "class (a, b, c)")
        assert ask(3.0)["error"]["message"] == "predict_proba's columns lack the class(es) c"
        nan = ask(4.0)["error"]
        assert (nan["message"], nan["function"], nan["row"]) == (
            "predict_proba returned a non-finite value at row 1", "predict_proba", 1), nan
    finally:
        assert worker.close() == 0


@test
def a_module_without_predict_fails_naming_it():
    status, _, stderr, _ = run_train("no_predict")
    assert status == 2
    assert error_line(stderr) == {"type": "ContractError", "message": "main.py defines no predict (a function or "
                                  "Model.predict)", "function": "predict", "traceback": ""}, stderr
    # Serving says the same of such a module, before reading any frame.
    model = os.path.join(WORK, "no_predict-model")
    os.makedirs(model, exist_ok=True)
    with open(os.path.join(model, "model.pkl"), "wb") as f:
        f.write(pickle.dumps({"mean": 1.0}))
    with open(os.path.join(model, "spec.json"), "w") as f:
        json.dump(spec_of("no_predict"), f)
    worker = Worker("no_predict", model=model)
    assert worker.receive() is None and worker.process.wait(30) == 2
    worker.stderr.close()
    assert error_line(worker.stderr_text())["message"] == "main.py defines no predict (a function or Model.predict)"


@test
def train_raising_fails_with_the_users_traceback():
    status, _, stderr, output = run_train("train_raises")
    assert status == 2 and not os.path.exists(os.path.join(output, "model.pkl"))
    error = error_line(stderr)
    assert (error["type"], error["message"], error["function"]) == ("KeyError", "'no_such_column'", "train"), error
    assert 'train_raises/main.py", line 5, in train' in error["traceback"], error["traceback"]


@test
def an_unpicklable_model_fails_naming_train():
    status, _, stderr, _ = run_train("unpicklable")
    assert status == 2
    error = error_line(stderr)
    assert error["function"] == "train" and error["message"].startswith(
        "train returned a model that cannot be pickled ("), error  # the exception type varies by Python version


@test
def serving_loads_only_the_expected_hash():
    directory = trained("regressor")
    with open(os.path.join(directory, "model.pkl"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    wrong = Worker("regressor", env=dict(os.environ, CONVEYOR_MODEL_SHA256="0" * 64))
    assert wrong.receive() is None and wrong.process.wait(30) == 3
    wrong.stderr.close()
    error = error_line(wrong.stderr_text())
    assert error["type"] == "ModelHashMismatch" and digest in error["message"], error
    right = Worker("regressor", env=dict(os.environ, CONVEYOR_MODEL_SHA256=digest.upper()))
    try:
        assert right.request({"op": "ping"}) == {"ok": True}
    finally:
        assert right.close() == 0


@test
def protocol_errors_are_answered_and_the_loop_goes_on():
    worker = Worker("regressor")
    columns = [f["name"] for f in spec_of("regressor")["features"]]
    row = ["2015-06-01", 12.0, 0.0, 3.0, "sun", False]
    try:
        worker.send_bytes(b"{not json")
        assert worker.receive()["error"]["type"] == "ProtocolError"
        worker.send_bytes(b"[1, 2]")
        assert worker.receive()["error"]["type"] == "ProtocolError"
        unknown = worker.request({"op": "train", "id": "abc"})
        assert unknown["error"]["message"].startswith("unknown op 'train'") and unknown["id"] == "abc"
        lacking = worker.request({"op": "predict", "columns": columns[:-1], "rows": [row[:-1]]})
        assert lacking["error"]["message"] == "the request lacks the column(s) wet", lacking
        short = worker.request({"op": "predict", "columns": columns, "rows": [row[:-1]]})
        assert short["error"]["message"] == "each row must be a list of 6 values", short
        assert worker.request({"op": "predict", "columns": columns, "rows": []}) == {"ok": True, "predictions": []}
        answer = worker.request({"op": "predict", "columns": columns, "rows": [row]})
        assert answer["ok"] and len(answer["predictions"]) == 1
    finally:
        assert worker.close() == 0


@test
def a_truncated_frame_ends_the_worker_with_an_error():
    worker = Worker("regressor")
    assert worker.request({"op": "ping"}) == {"ok": True}
    worker.process.stdin.write(HEADER.pack(100) + b'{"op":')
    worker.process.stdin.close()
    assert worker.receive() is None and worker.process.wait(30) == 2
    worker.stderr.close()
    assert error_line(worker.stderr_text())["type"] == "ProtocolError"


@test
def a_module_named_like_the_standard_library_is_refused():
    directory = os.path.join(WORK, "shadow")
    os.makedirs(directory, exist_ok=True)
    module = os.path.join(directory, "json.py")
    with open(module, "w") as f:
        f.write("def train(d):\n    return 1\n\ndef predict(m, f):\n    return [1.0] * len(f)\n")
    status, _, stderr, _ = run_train("misbehaving", module=module)
    assert status == 2
    error = error_line(stderr)
    assert (error["type"], error["function"]) == ("ModuleName", "import"), error
    assert error["message"] == "json.py would shadow Python's own module json; rename the file"


# ------------------------------------------------------------------ benchmark

TRIVIAL = '''
import numpy as np

def train(dataset):
    return {"zero": 0.0}

def predict(model, features):
    return np.zeros(len(features))
'''

FOREST = '''
from sklearn.ensemble import RandomForestRegressor

def train(dataset):
    forest = RandomForestRegressor(n_estimators=100, max_depth=12, n_jobs=-1, random_state=0)
    forest.fit(dataset.drop(columns=["y"]), dataset["y"])
    return forest.set_params(n_jobs=1)  # one request, one thread: the fast setting for single rows

def predict(model, features):
    return model.predict(features)
'''


def bench(calls=10000):
    from sklearn.datasets import make_friedman1

    X, y = make_friedman1(n_samples=20000, n_features=10, random_state=0)
    names = ["x%d" % i for i in range(10)]
    table = pd.DataFrame(X, columns=names).assign(y=y)
    spec = {"task": "regression", "target": "y", "features": [{"name": n, "type": "numeric"} for n in names]}
    print("python %s, pandas %s, numpy %s; %d single-row predict frames per model" % (
        sys.version.split()[0], pd.__version__, np.__version__, calls))
    for label, source in (("trivial (np.zeros)", TRIVIAL), ("RandomForestRegressor 100 trees depth 12", FOREST)):
        repo = os.path.join(WORK, "bench-" + label.split()[0].lower())
        os.makedirs(os.path.join(repo, "data"), exist_ok=True)
        with open(os.path.join(repo, "main.py"), "w") as f:
            f.write(source)
        table.iloc[:16000].to_csv(os.path.join(repo, "data", "train.csv"), index=False)
        table.iloc[16000:].to_csv(os.path.join(repo, "data", "test.csv"), index=False)
        with open(os.path.join(repo, "spec.json"), "w") as f:
            json.dump(spec, f)
        output = os.path.join(repo, "artifact")
        subprocess.run([PYTHON, WORKER, "train", "--module", os.path.join(repo, "main.py"),
                        "--train", os.path.join(repo, "data", "train.csv"),
                        "--test", os.path.join(repo, "data", "test.csv"),
                        "--spec", os.path.join(repo, "spec.json"), "--output", output], check=True)
        rows = [X[16000 + i % 4000].tolist() for i in range(calls)]  # the held-out rows, in turn
        frames = [json.dumps({"op": "predict", "columns": names, "rows": [r]}).encode() for r in rows]
        process = subprocess.Popen([PYTHON, WORKER, "serve", "--module", os.path.join(repo, "main.py"),
                                    "--model", output], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        send, out = process.stdin.fileno(), process.stdout.fileno()

        def round_trip(body):
            os.write(send, HEADER.pack(len(body)) + body)
            header = b""
            while len(header) < 4:
                header += os.read(out, 4 - len(header))
            n = HEADER.unpack(header)[0]
            data = b""
            while len(data) < n:
                data += os.read(out, n - len(data))
            return data

        for body in frames[:1000]:  # warm-up
            round_trip(body)
        times = np.empty(calls)
        for i, body in enumerate(frames):
            start = time.perf_counter()
            round_trip(body)
            times[i] = time.perf_counter() - start
        with open("/proc/%d/status" % process.pid) as f:
            rss = next(line.split()[1] for line in f if line.startswith("VmRSS"))
        process.stdin.close()
        process.wait()

        # In-process, in this interpreter: the same module's predict on the frame the worker builds.
        spec_module = importlib.util.spec_from_file_location("bench_main", os.path.join(repo, "main.py"))
        module = importlib.util.module_from_spec(spec_module)
        spec_module.loader.exec_module(module)
        with open(os.path.join(output, "model.pkl"), "rb") as f:
            model = pickle.loads(f.read())
        plan = worker_module.FramePlan(spec["features"])
        prebuilt = [plan.frame_from_rows(names, [r]) for r in rows[:2000]]
        for frame in prebuilt[:200]:
            module.predict(model, frame)
        start = time.perf_counter()
        for frame in prebuilt:
            module.predict(model, frame)
        in_process = (time.perf_counter() - start) / len(prebuilt)
        start = time.perf_counter()
        for r in rows[:2000]:
            module.predict(model, plan.frame_from_rows(names, [r]))
        with_frame = (time.perf_counter() - start) / 2000
        us = times * 1e6
        print("%s: through the pipe mean %.0f us, p50 %.0f, p99 %.0f (%.0f calls/s); in-process predict %.0f us, "
              "frame + predict %.0f us; worker overhead %.0f us per call; worker RSS %.0f MB"
              % (label, us.mean(), np.percentile(us, 50), np.percentile(us, 99), 1e6 / us.mean(), in_process * 1e6,
                 with_frame * 1e6, us.mean() - in_process * 1e6, int(rss) / 1024))


# ------------------------------------------------------------------ main


def main(argv):
    try:
        if "--bench" in argv:
            bench()
            return 0
        pattern = argv[argv.index("-k") + 1] if "-k" in argv else ""
        passed = failed = 0
        for function in TESTS:
            if pattern not in function.__name__:
                continue
            start = time.monotonic()
            try:
                function()
                passed += 1
                print("ok    %-62s %5.1fs" % (function.__name__, time.monotonic() - start), flush=True)
            except Exception:
                failed += 1
                print("FAIL  %s\n%s" % (function.__name__, traceback.format_exc()), flush=True)
        print("%d passed, %d failed" % (passed, failed))
        return 1 if failed or not passed else 0
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

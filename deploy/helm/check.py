#!/usr/bin/env python3
"""Renders the Helm chart the way `helm template` does and checks every object it renders.

Run through deploy/helm/check.sh, which installs the two tools pinned below into a venv:
- helm-python-sdk (import name helm_python): Helm's own Go SDK (helm.sh/helm/v4, v4.2.3)
  built into libhelm_c and called through ctypes. Its render is Helm's template engine with
  the chart's values.schema.json checked first, as `helm template` does; its lint is `helm lint`.
- kubernetes-validate: the Kubernetes OpenAPI schemas as JSON schemas, in their strict form
  (no field the API does not know), for KUBERNETES_VERSIONS.

For each values variant below this script:
1. checks the values against values.schema.json and renders the chart (release "conveyor"),
2. runs `helm lint --strict --kube-version v1.30.0` with the same values,
3. parses every rendered document as YAML (a duplicated key is an error, as in the API server's
   strict decoding) and validates it against the Kubernetes schemas of every version in
   KUBERNETES_VERSIONS; custom resources (PodMonitor) have no schema there and are reported,
4. asserts what the chart promises (assert_* below): the artifact store's mode (s3: no claim
   rendered or mounted, ARTIFACTS_URL, S3_*, credentials from a Secret, serving's cache on an
   emptyDir; volume: the ReadWriteMany claim), non-root read-only containers, every credential
   from a secretKeyRef, and the references between objects (selectors, ports, volumes, HPA and
   PodDisruptionBudget targets) that no schema sees.
It also checks that values which cannot work are refused with their reason.

`--prove-it-fails` then breaks a copy of the chart in several ways (MUTATIONS) and checks that
each one is caught, with the message expected; the committed chart is never changed.

Exit status 0 when everything holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import helm_python as helm
import kubernetes_validate
import kubernetes_validate.utils
import yaml

KUBERNETES_VERSIONS = ["1.30.0", "1.37.0"]  # the oldest supported, the newest kubernetes-validate knows
LINT_KUBE_VERSION = "v1.30.0"
RELEASE = "conveyor"
CUSTOM_RESOURCE_KINDS = {"PodMonitor"}  # CRDs: not in the Kubernetes schemas
SECRET_VARIABLES = {
    "DATABASE_URL", "ADMIN_TOKEN", "GITHUB_TOKEN", "GITHUB_WEBHOOK_SECRET",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
}
S3_VARIABLES = {"ARTIFACTS_URL", "S3_ENDPOINT", "S3_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}

S3 = {
    "mode": "s3",
    "s3": {
        "endpoint": "https://s3.eu-west-1.amazonaws.com", "region": "eu-west-1",
        "bucket": "acme-models", "prefix": "prod/conveyor", "credentialsSecret": "conveyor-s3",
    },
}

# name → values given to the chart (merged over values.yaml by Helm).
VARIANTS = {
    "volume, defaults": {},
    "volume, every option": {
        "artifacts": {"storageClassName": "nfs-client", "size": "20Gi"},
        "serving": {"autoscaling": {"enabled": False}, "podDisruptionBudget": {"enabled": False}},
        "vcs": {"ingress": {"enabled": True, "className": "nginx"}},
    },
    "s3": {"artifacts": S3},
    "s3, every option": {
        "artifacts": {
            "mode": "s3",
            "s3": {**S3["s3"], "endpoint": "http://seaweedfs-s3.storage.svc:8333", "prefix": "",
                   "region": "us-east-1", "bucket": "conveyor"},
            "cache": {"sizeLimit": "10Gi"},
        },
        "serving": {"replicas": 3, "autoscaling": {"enabled": False},
                    "podDisruptionBudget": {"minAvailable": "50%"}},
        "trainer": {"replicas": 2},
        "previews": {"dashboardURL": "https://conveyor.example.com"},
        "vcs": {"ingress": {"enabled": True, "className": "nginx",
                            "tls": [{"hosts": ["conveyor.example.com"], "secretName": "conveyor-tls"}]}},
        "metrics": {"podMonitor": {"enabled": True, "labels": {"release": "prometheus"}}},
    },
}

# values that cannot work → a piece of the message that refuses them.
REFUSED = [
    ({"artifacts": {"mode": "nfs"}}, "value must be one of 's3', 'volume'"),
    ({"artifacts": {"mode": "s3"}}, "artifacts.s3.endpoint is required when artifacts.mode is s3"),
    ({"artifacts": {**S3, "s3": {**S3["s3"], "bucket": ""}}}, "artifacts.s3.bucket is required"),
    ({"artifacts": {**S3, "s3": {**S3["s3"], "awsSecretAccessKey": "x"}}},
     "additional properties 'awsSecretAccessKey' not allowed"),
    ({"artifacts": {**S3, "s3": {**S3["s3"], "endpoint": "s3.amazonaws.com"}}}, "/artifacts/s3/endpoint"),
    ({"artifacts": {**S3, "s3": {**S3["s3"], "endpoint": "https://KEY:SECRET@s3.example.com"}}},
     "/artifacts/s3/endpoint"),
    ({"artifacts": {**S3, "s3": {**S3["s3"], "prefix": "prod/../conveyor"}}}, "/artifacts/s3/prefix"),
    ({"serving": {"podDisruptionBudget": {"maxUnavailable": "one"}}}, "/serving/podDisruptionBudget"),
]

# A copy of the chart broken in one way → a piece of the failure the check must print.
# (file, regular expression, replacement, expected message)
MUTATIONS = [
    ("Chart.yaml", r"(?m)^version: .*", "version: one", "helm lint: Chart.yaml: version 'one' is not a valid SemVer"),
    ("templates/serving.yaml", r"imagePullPolicy:", "imagePullPolicyy:",
     "Additional properties are not allowed ('imagePullPolicyy' was unexpected)"),
    ("templates/trainer.yaml", r"containerPort: 8001", 'containerPort: "8001"', "'8001' is not of type 'integer'"),
    ("templates/trainer.yaml", r"\{\{- if not \$s3 \}\}\n---", "{{- if true }}\n---",
     "s3 mode renders PersistentVolumeClaim/conveyor-artifacts"),
    ("templates/serving.yaml", r"- name: artifacts-cache\n(\s+)emptyDir: \{sizeLimit: .*",
     r"- name: artifacts-cache\n\1persistentVolumeClaim: {claimName: cache}",
     "mounts PersistentVolumeClaim cache in s3 mode"),
    ("templates/_helpers.tpl", r"readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false",
     "readOnlyRootFilesystem is not true"),
    ("templates/serving.yaml",
     r"- name: AWS_SECRET_ACCESS_KEY\n(\s+)valueFrom:\n\s+secretKeyRef: \{.*",
     r'- name: AWS_SECRET_ACCESS_KEY\n\1value: "plain-text"',
     "AWS_SECRET_ACCESS_KEY is a plain value, not a secretKeyRef"),
    ("templates/serving.yaml", r"kind: PodDisruptionBudget\nmetadata:\n  name: \{\{ \$.Release.Name \}\}-serving",
     "kind: PodDisruptionBudget\nmetadata:\n  name: {{ $.Release.Name }}-servng",
     "PodDisruptionBudget"),
    ("templates/serving.yaml", r"kind: Deployment, name: \{\{ \.Release\.Name \}\}-serving\}",
     "kind: Deployment, name: {{ .Release.Name }}-serve}",
     "HorizontalPodAutoscaler/conveyor-serving scales"),
]


class Failures(list):
    def add(self, where: str, message: str) -> None:
        self.append(f"{where}: {message}")


# ---------------------------------------------------------------- rendering, lint and schemas

class UniqueKeyLoader(yaml.SafeLoader):
    """YAML with duplicated mapping keys refused (Kubernetes' strict decoding refuses them too)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, f"duplicated key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


@functools.lru_cache(maxsize=None)
def _schema(filename: str, version: str):
    return _uncached_schema(filename, version)


_uncached_schema = kubernetes_validate.utils.schema_contents
kubernetes_validate.utils.schema_contents = _schema  # the same files, parsed once instead of per object


@functools.lru_cache(maxsize=None)
def validate_json(document: str, version: str) -> str | None:
    """None when the object is valid for `version` (strict), else the error."""
    try:
        kubernetes_validate.validate(json.loads(document), version, strict=True)
        return None
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(part) for part in error.path) or "(top)"
        return f"{path}: {error.message}"
    except kubernetes_validate.SchemaNotFoundError as error:
        return error.message


def render(chart: Path, values: dict) -> tuple[list[dict], list[str]]:
    """Every rendered object, and its source file, like `helm template conveyor CHART`."""
    with helm.Chart.load(str(chart)) as loaded:
        loaded.validate_schema(values)
        manifests = loaded.render(values, name=RELEASE, namespace="default", is_install=True)
    objects, sources = [], []
    for source in sorted(manifests):
        if source.endswith("NOTES.txt"):
            continue
        for document in yaml.load_all(manifests[source], Loader=UniqueKeyLoader):
            if document is not None:
                objects.append(document)
                sources.append(source)
    return objects, sources


def lint(chart: Path, values: dict, failures: Failures, where: str) -> None:
    report = helm.lint(str(chart), values, strict=True, kube_version=LINT_KUBE_VERSION)
    found = [m for m in report.get("messages") or [] if m["severity"] >= 2]  # 2 warning, 3 error; 1 is info
    for message in found:
        failures.add(where, f"helm lint: {message['path'] or '(chart)'}: {message['error']}")
    if not found:
        for error in report.get("errors") or []:
            failures.add(where, f"helm lint: {error}")


def validate_schemas(objects: list[dict], sources: list[str], failures: Failures, where: str) -> list[str]:
    skipped = []
    for obj, source in zip(objects, sources):
        name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        if obj.get("kind") in CUSTOM_RESOURCE_KINDS:
            skipped.append(name)
            continue
        document = json.dumps(obj, sort_keys=True)
        for version in KUBERNETES_VERSIONS:
            error = validate_json(document, version)
            if error:
                failures.add(where, f"{source}: {name} is not a valid object for Kubernetes {version}: {error}")
    return skipped


# ---------------------------------------------------------------- what the chart promises

def merged_values(chart: Path, values: dict) -> dict:
    with helm.Chart.load(str(chart)) as loaded:
        return loaded.merge_values(values)


def pod_spec(obj: dict) -> dict | None:
    if obj.get("kind") in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
        return obj.get("spec", {}).get("template", {}).get("spec")
    return None


def component(obj: dict) -> str | None:
    return obj.get("metadata", {}).get("labels", {}).get("app.kubernetes.io/component")


def named(objects: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o.get("kind") == kind}


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env") or []}


def matches(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def assert_common(objects: list[dict], values: dict, failures: Failures, where: str) -> None:
    deployments = named(objects, "Deployment")
    for kind in ("Secret",):
        for name in named(objects, kind):
            failures.add(where, f"the chart renders {kind}/{name}: secrets are created by the operator, not by values")
    for name in (f"{RELEASE}-vcs", f"{RELEASE}-trainer", f"{RELEASE}-serving"):
        if name not in deployments:
            failures.add(where, f"Deployment/{name} is not rendered")
    names = {}
    for obj in objects:
        key = (obj.get("kind"), obj.get("metadata", {}).get("name"))
        if key in names:
            failures.add(where, f"{key[0]}/{key[1]} is rendered twice")
        names[key] = obj
        name = key[1] or ""
        limit = 63 if key[0] == "Service" else 253
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name) or len(name) > limit:
            failures.add(where, f"{key[0]} name {name!r} is not a DNS name of at most {limit} characters")

    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        owner = f"{obj['kind']}/{obj['metadata']['name']}"
        selector = obj["spec"].get("selector", {}).get("matchLabels", {})
        labels = obj["spec"]["template"].get("metadata", {}).get("labels", {})
        if not matches(selector, labels):
            failures.add(where, f"{owner}: selector {selector} does not select its own pods {labels}")
        volumes = {}
        for volume in spec.get("volumes") or []:
            if volume["name"] in volumes:
                failures.add(where, f"{owner}: volume {volume['name']} is declared twice")
            volumes[volume["name"]] = volume
        pod_context = spec.get("securityContext") or {}
        for container in (spec.get("initContainers") or []) + spec.get("containers", []):
            at = f"{owner} container {container['name']}"
            context = container.get("securityContext") or {}

            def setting(key):
                return context.get(key, pod_context.get(key))

            if setting("runAsNonRoot") is not True:
                failures.add(where, f"{at}: runAsNonRoot is not true")
            if setting("runAsUser") in (0, None):
                failures.add(where, f"{at}: runAsUser is {setting('runAsUser')}, not a non-root user id")
            if context.get("readOnlyRootFilesystem") is not True:
                failures.add(where, f"{at}: readOnlyRootFilesystem is not true")
            if context.get("allowPrivilegeEscalation") is not False:
                failures.add(where, f"{at}: allowPrivilegeEscalation is not false")
            if "ALL" not in (context.get("capabilities") or {}).get("drop", []):
                failures.add(where, f"{at}: capabilities are not all dropped")
            if context.get("privileged"):
                failures.add(where, f"{at}: privileged")
            seen = set()
            for variable in container.get("env") or []:
                if variable["name"] in seen:
                    failures.add(where, f"{at}: {variable['name']} is set twice")
                seen.add(variable["name"])
                if variable["name"] in SECRET_VARIABLES:
                    reference = (variable.get("valueFrom") or {}).get("secretKeyRef")
                    if "value" in variable or not reference:
                        failures.add(where, f"{at}: {variable['name']} is a plain value, not a secretKeyRef")
            mounts = set()
            for mount in container.get("volumeMounts") or []:
                if mount["name"] not in volumes:
                    failures.add(where, f"{at}: mounts volume {mount['name']}, which the pod does not declare")
                if mount["mountPath"] in mounts:
                    failures.add(where, f"{at}: two volumes at {mount['mountPath']}")
                mounts.add(mount["mountPath"])
            ports = {p.get("name") for p in container.get("ports") or []}
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                port = ((container.get(probe) or {}).get("httpGet") or {}).get("port")
                if isinstance(port, str) and port not in ports:
                    failures.add(where, f"{at}: {probe} uses port {port!r}, which the container does not name")

    pods = {name: d["spec"]["template"] for name, d in deployments.items()}

    def selected(selector: dict) -> list[str]:
        return [name for name, template in pods.items() if matches(selector, template["metadata"].get("labels", {}))]

    for name, service in named(objects, "Service").items():
        chosen = selected(service["spec"].get("selector") or {})
        if len(chosen) != 1:
            failures.add(where, f"Service/{name} selects Deployments {chosen}, not exactly one")
            continue
        container_ports = {p.get("name") for c in pods[chosen[0]]["spec"]["containers"] for p in c.get("ports") or []}
        for port in service["spec"].get("ports", []):
            target = port.get("targetPort")
            if isinstance(target, str) and target not in container_ports:
                failures.add(where, f"Service/{name} targets port {target!r}, which {chosen[0]} does not name")
    services = named(objects, "Service")
    for name, ingress in named(objects, "Ingress").items():
        for rule in ingress["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                backend = path["backend"]["service"]["name"]
                if backend not in services:
                    failures.add(where, f"Ingress/{name} routes to Service/{backend}, which is not rendered")

    serving = values["serving"]
    serving_name = f"{RELEASE}-serving"
    autoscalers = named(objects, "HorizontalPodAutoscaler")
    if serving["autoscaling"]["enabled"]:
        hpa = autoscalers.get(serving_name)
        if hpa is None:
            failures.add(where, "serving's HorizontalPodAutoscaler is not rendered")
        else:
            target = hpa["spec"]["scaleTargetRef"]
            if target.get("kind") != "Deployment" or target.get("name") not in deployments:
                failures.add(where, f"HorizontalPodAutoscaler/{serving_name} scales {target}, which is not rendered")
            if hpa["spec"].get("minReplicas", 1) > hpa["spec"]["maxReplicas"]:
                failures.add(where, "serving's HorizontalPodAutoscaler: minReplicas > maxReplicas")
            uses_cpu = any(m.get("resource", {}).get("name") == "cpu" for m in hpa["spec"].get("metrics", []))
            if uses_cpu and serving_name in pods:
                for container in pods[serving_name]["spec"]["containers"]:
                    if "cpu" not in (container.get("resources") or {}).get("requests", {}):
                        failures.add(where, f"serving container {container['name']} has no CPU request for the HPA")
    elif autoscalers:
        failures.add(where, f"autoscaling is off but {sorted(autoscalers)} are rendered")
    budgets = named(objects, "PodDisruptionBudget")
    if serving["podDisruptionBudget"]["enabled"]:
        budget = budgets.get(serving_name)
        if budget is None:
            failures.add(where, f"serving's PodDisruptionBudget ({serving_name}) is not rendered")
        else:
            chosen = selected(budget["spec"]["selector"].get("matchLabels") or {})
            if chosen != [serving_name]:
                failures.add(where, f"PodDisruptionBudget/{serving_name} selects {chosen}, not serving's pods only")
            if ("minAvailable" in budget["spec"]) == ("maxUnavailable" in budget["spec"]):
                failures.add(where, "serving's PodDisruptionBudget sets not exactly one of "
                                    "minAvailable, maxUnavailable")
    elif budgets:
        failures.add(where, f"the disruption budget is off but {sorted(budgets)} are rendered")


def assert_artifacts(objects: list[dict], values: dict, failures: Failures, where: str) -> None:
    artifacts = values["artifacts"]
    deployments = named(objects, "Deployment")
    claims = named(objects, "PersistentVolumeClaim")

    def container(name: str) -> dict | None:
        deployment = deployments.get(f"{RELEASE}-{name}")
        return deployment["spec"]["template"]["spec"]["containers"][0] if deployment else None

    def spec(name: str) -> dict:
        return deployments[f"{RELEASE}-{name}"]["spec"]["template"]["spec"]

    if artifacts["mode"] == "s3":
        for name in claims:
            failures.add(where, f"s3 mode renders PersistentVolumeClaim/{name}")
        for deployment_name, deployment in deployments.items():
            for volume in deployment["spec"]["template"]["spec"].get("volumes") or []:
                if "persistentVolumeClaim" in volume:
                    failures.add(where, f"Deployment/{deployment_name} mounts PersistentVolumeClaim "
                                        f"{volume['persistentVolumeClaim'].get('claimName')} in s3 mode")
                if "ephemeral" in volume:
                    failures.add(where, f"Deployment/{deployment_name} asks for an ephemeral claim in s3 mode")
        s3 = artifacts["s3"]
        prefix = (s3.get("prefix") or "").strip("/")
        url = f"s3://{s3['bucket']}" + (f"/{prefix}" if prefix else "")
        for name in ("trainer", "serving"):
            c = container(name)
            if c is None:
                continue
            env = env_of(c)
            expected = {"ARTIFACTS_URL": url, "S3_ENDPOINT": s3["endpoint"], "S3_REGION": s3["region"]}
            for variable, value in expected.items():
                if env.get(variable, {}).get("value") != value:
                    failures.add(where, f"{name}: {variable} is {env.get(variable)}, not {value!r}")
            for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                reference = (env.get(variable, {}).get("valueFrom") or {}).get("secretKeyRef") or {}
                if reference.get("name") != s3["credentialsSecret"] or reference.get("key") != variable \
                        or reference.get("optional"):
                    failures.add(where, f"{name}: {variable} is not the key {variable} of Secret "
                                        f"{s3['credentialsSecret']} (required): {env.get(variable)}")
            if "ARTIFACTS_DIR" in env:
                failures.add(where, f"{name}: ARTIFACTS_DIR is set in s3 mode")
        serving = container("serving")
        if serving is not None:
            cache = env_of(serving).get("ARTIFACTS_CACHE_DIR", {}).get("value")
            mount = next((m for m in serving.get("volumeMounts") or [] if m["mountPath"] == cache), None)
            volume = next((v for v in spec("serving").get("volumes") or [] if mount and v["name"] == mount["name"]),
                          None)
            if cache is None or mount is None or mount.get("readOnly"):
                failures.add(where, f"serving: ARTIFACTS_CACHE_DIR ({cache}) is not a writable mounted volume")
            elif volume is None or "emptyDir" not in volume:
                failures.add(where, f"serving: ARTIFACTS_CACHE_DIR is on {volume}, not an emptyDir")
            elif (volume["emptyDir"] or {}).get("sizeLimit") != artifacts["cache"]["sizeLimit"]:
                failures.add(where, f"serving: the cache's emptyDir has sizeLimit "
                                    f"{volume['emptyDir'].get('sizeLimit')}, not artifacts.cache.sizeLimit "
                                    f"{artifacts['cache']['sizeLimit']}")
        trainer = container("trainer")
        if trainer is not None and "ARTIFACTS_CACHE_DIR" in env_of(trainer):
            failures.add(where, "trainer: ARTIFACTS_CACHE_DIR is serving's, not trainer's")
    else:
        claim_name = f"{RELEASE}-artifacts"
        claim = claims.get(claim_name)
        if claim is None:
            failures.add(where, f"volume mode renders no PersistentVolumeClaim/{claim_name}")
        else:
            if claim["spec"].get("accessModes") != ["ReadWriteMany"]:
                failures.add(where, f"{claim_name}: accessModes {claim['spec'].get('accessModes')}, not ReadWriteMany")
            if claim["spec"]["resources"]["requests"].get("storage") != artifacts["size"]:
                failures.add(where, f"{claim_name}: requests {claim['spec']['resources']['requests']}")
            if (claim["spec"].get("storageClassName") or "") != (artifacts.get("storageClassName") or ""):
                failures.add(where, f"{claim_name}: storageClassName {claim['spec'].get('storageClassName')!r}")
        for name, read_only in (("trainer", False), ("serving", True)):
            c = container(name)
            if c is None:
                continue
            volume = next((v for v in spec(name).get("volumes") or []
                           if (v.get("persistentVolumeClaim") or {}).get("claimName") == claim_name), None)
            mount = next((m for m in c.get("volumeMounts") or [] if volume and m["name"] == volume["name"]), None)
            directory = env_of(c).get("ARTIFACTS_DIR", {}).get("value")
            if mount is None or mount["mountPath"] != directory:
                failures.add(where, f"{name}: ARTIFACTS_DIR {directory} is not where {claim_name} is mounted ({mount})")
            elif bool(mount.get("readOnly")) != read_only:
                state = "read-only" if mount.get("readOnly") else "writable"
                failures.add(where, f"{name}: the claim is mounted {state}")
            stray = S3_VARIABLES.intersection(env_of(c))
            if stray:
                failures.add(where, f"{name}: {sorted(stray)} set in volume mode")
    vcs = container("vcs")
    if vcs is not None:
        stray = (S3_VARIABLES | {"ARTIFACTS_DIR", "ARTIFACTS_CACHE_DIR"}).intersection(env_of(vcs))
        if stray:
            failures.add(where, f"vcs: {sorted(stray)} set, but vcs never touches the artifacts")


# ---------------------------------------------------------------- the whole check

def check(chart: Path, verbose: bool) -> Failures:
    failures = Failures()
    for variant, given in VARIANTS.items():
        where = f"[{variant}]"
        lint(chart, given, failures, where)
        try:
            objects, sources = render(chart, given)
            values = merged_values(chart, given)
        except (helm.HelmError, yaml.YAMLError) as error:
            failures.add(where, f"does not render: {error}")
            continue
        skipped = validate_schemas(objects, sources, failures, where)
        try:
            assert_common(objects, values, failures, where)
            assert_artifacts(objects, values, failures, where)
        except (KeyError, TypeError, IndexError, AttributeError) as error:
            failures.add(where, f"an object lacks what the chart promises: {type(error).__name__} {error}")
        if verbose:
            kinds = ", ".join(f"{o['kind']}/{o['metadata']['name']}" for o in objects if o["kind"] not in
                              CUSTOM_RESOURCE_KINDS)
            print(f"{where} {len(objects)} objects rendered; schema-checked for Kubernetes "
                  f"{' and '.join(KUBERNETES_VERSIONS)}: {kinds}"
                  + (f"; custom resources, rendered but not schema-checked: {', '.join(skipped)}" if skipped else ""))
    for given, expected in REFUSED:
        where = f"[refused {json.dumps(given, sort_keys=True)}]"
        try:
            render(chart, given)
            failures.add(where, f"rendered, but should be refused with {expected!r}")
        except helm.HelmError as error:
            if expected not in str(error):
                failures.add(where, f"refused with {error!r}, expected {expected!r}")
            elif verbose:
                print(f"{where} refused: {str(error).strip().splitlines()[-1].strip()}")
    return failures


def prove_it_fails(chart: Path) -> list[str]:
    """Each mutation of a copy of the chart must make the check fail with its message."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="conveyor-chart-") as scratch:
        for file, pattern, replacement, expected in MUTATIONS:
            copy_dir = Path(scratch) / "conveyor"
            shutil.rmtree(copy_dir, ignore_errors=True)
            shutil.copytree(chart, copy_dir)
            target = copy_dir / file
            text = target.read_text()
            broken, count = re.subn(pattern, replacement, text, count=1)
            if count == 0:
                problems.append(f"mutation {pattern!r} no longer applies to {file}: update MUTATIONS")
                continue
            target.write_text(broken)
            failures = check(copy_dir, verbose=False)
            caught = [f for f in failures if expected in f]
            if not caught:
                problems.append(f"breaking {file} ({pattern!r} → {replacement!r}) was not caught as {expected!r}; "
                                f"the check said: {failures[:3]}")
            else:
                print(f"broken copy ({file}: {pattern!r} → {replacement!r}) fails as expected:\n    {caught[0]}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chart", nargs="?", default=str(Path(__file__).resolve().parent / "conveyor"))
    parser.add_argument("--prove-it-fails", action="store_true",
                        help="also break copies of the chart (MUTATIONS) and require each to fail")
    arguments = parser.parse_args()
    chart = Path(arguments.chart).resolve()
    started = time.monotonic()
    print(f"chart {chart}: Helm {helm.helm_sdk_version()} (helm-python-sdk, libhelm_c {helm.helm_c_version()}), "
          f"kubernetes-validate {kubernetes_validate.__version__}, strict schemas for Kubernetes "
          f"{', '.join(KUBERNETES_VERSIONS)}")
    failures = check(chart, verbose=True)
    for failure in failures:
        print(f"FAIL {failure}")
    problems = prove_it_fails(chart) if arguments.prove_it_fails and not failures else []
    for problem in problems:
        print(f"FAIL {problem}")
    passed = not failures and not problems
    print(f"chart check {'passed' if passed else 'FAILED'}: {len(VARIANTS)} variants rendered, linted and validated, "
          f"{len(REFUSED)} refusals" + (f", {len(MUTATIONS)} broken copies caught" if arguments.prove_it_fails else "")
          + f" ({time.monotonic() - started:.1f} s)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())

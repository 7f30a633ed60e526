"""The chart of deploy/helm/songtor, rendered by a real helm and validated offline: Kubernetes' own
objects against the JSON schemas kubernetes-validate bundles (strict: an unknown field is an error),
KEDA's and Strimzi's against the openAPI schemas of their CRDs (deploy/helm/tools.sh fetches them),
made as strict. The CEL rules of a CRD (x-kubernetes-validations) are not evaluated here."""

import copy
import importlib.util
import re
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "songtor"
TOOLS = REPO / "deploy" / "helm" / "tools.sh"
# What a ministry must give (docs/cluster.md); everything else has a default.
REQUIRED_VALUES = {"image": {"repository": "registry.example.go.th/songtor/service", "tag": "1.0.0"},
                   "oidc": {"issuer": "https://sso.example.go.th/realms/songtor"}}
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest with schemas here.
KUBE_VERSIONS = ("1.29", kubernetes_validate.utils.latest_version())
# scripts/helm_values.py, the generator of the chart's Kafka estate.
_spec = importlib.util.spec_from_file_location("helm_values", REPO / "scripts" / "helm_values.py")
helm_values = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helm_values)
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")


class ToolMissing(RuntimeError):
    pass


def _tools(*what: str) -> list[str]:
    found = subprocess.run(["bash", str(TOOLS), "path", *what], capture_output=True, text=True, check=False)
    if found.returncode != 0:
        raise ToolMissing(f"{' '.join(what)} is not installed: run `bash deploy/helm/tools.sh ensure` "
                          "(make test does)")
    return found.stdout.split("\n")[:-1]


def helm() -> str:
    return _tools("helm")[0]


def run_helm(*args: str, values: dict | None = None) -> subprocess.CompletedProcess:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as file:
        yaml.safe_dump(merged(REQUIRED_VALUES, values or {}), file)
        file.flush()
        return subprocess.run([helm(), *args, str(CHART), "--values", file.name],
                              capture_output=True, text=True, check=False)


def render(values: dict | None = None) -> list[dict[str, Any]]:
    done = run_helm("template", "songtor", values=values)
    if done.returncode != 0:
        raise RuntimeError(f"helm template failed:\n{done.stderr}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def merged(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


# ------------------------------------------------------------------ CRDs --


def _strict(schema: Any) -> Any:
    """A CRD's openAPI v3 schema as JSON Schema, as strict as the API server with field validation
    Strict: unknown fields refused except where the CRD keeps them (x-kubernetes-preserve-unknown-fields)."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _strict(value) for key, value in schema.items()}
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    if ("properties" in out and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


def crd_schemas() -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> schema, for every CRD file deploy/helm/tools.sh fetched."""
    schemas = {}
    for folder in _tools("crds"):
        for path in sorted(Path(folder).glob("*.yaml")):
            crd = yaml.safe_load(path.read_text(encoding="utf-8"))
            for version in crd["spec"]["versions"]:
                if version.get("served", True):
                    api = f"{crd['spec']['group']}/{version['name']}"
                    schema = _strict(version["schema"]["openAPIV3Schema"])
                    # metadata is the API server's ObjectMeta, checked below; the CRD says only "object".
                    schema["properties"]["metadata"] = {"type": "object"}
                    schemas[(api, crd["spec"]["names"]["kind"])] = schema
    return schemas


# ------------------------------------------------------------- validate --


def problems(objects: Iterable[dict], *, crds: dict[tuple[str, str], dict], kube_version: str) -> list[str]:
    """Every way a rendered object would be refused, one line each; empty when all are valid."""
    found = []
    for obj in objects:
        where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        name = obj.get("metadata", {}).get("name", "")
        if not _SUBDOMAIN.fullmatch(name) or len(name) > 253:
            found.append(f"{where}: metadata.name is not a DNS subdomain")
        if obj.get("kind") in {"Service"} and not (_LABEL_1035.fullmatch(name) and len(name) <= 63):
            found.append(f"{where}: a Service name must be a DNS-1035 label")
        schema = crds.get((obj.get("apiVersion"), obj.get("kind")))
        try:
            if schema is not None:
                jsonschema.Draft202012Validator(schema).validate(obj)
            else:
                kubernetes_validate.validate(obj, kube_version, strict=True)
        except jsonschema.ValidationError as error:
            path = ".".join(map(str, error.absolute_path))
            found.append(f"{where} (Kubernetes {kube_version}): {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            found.append(f"{where}: no schema: {error.message}")
    return found

"""Checks deploy/ for what KServe requires of a ServingRuntime and an InferenceService
that use `ferrolab serve` (protocol v2, REST and gRPC ports, /mnt/models), and that the
container's command line is one `ferrolab serve` accepts. Run by kernel/tests/deploy.rs."""

import re
import sys

import yaml

root = sys.argv[1]


def load(name):
    with open(f"{root}/deploy/{name}") as f:
        return yaml.safe_load(f)


rt = load("kserve/servingruntime.yaml")
assert rt["apiVersion"] == "serving.kserve.io/v1alpha1" and rt["kind"] == "ServingRuntime", rt
name = rt["metadata"]["name"]
spec = rt["spec"]
formats = {f["name"] for f in spec["supportedModelFormats"]}
assert formats and all(f.get("version") for f in spec["supportedModelFormats"]), spec
assert {"v2", "grpc-v2"} <= set(spec["protocolVersions"]), spec["protocolVersions"]
containers = spec["containers"]
assert containers[0]["name"] == "kserve-container" and containers[0]["image"], containers
args = containers[0]["args"]
flags = dict(zip(args[::2], args[1::2]))
assert flags["--models"] == "/mnt/models", args
http_port = int(flags["--http"].rsplit(":", 1)[1])
grpc_port = int(flags["--grpc"].rsplit(":", 1)[1])
assert flags["--http"].startswith("0.0.0.0:") and flags["--grpc"].startswith("0.0.0.0:"), args
assert [p["containerPort"] for p in containers[0]["ports"]] == [http_port], containers[0]["ports"]
assert containers[0]["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
metrics_port = int(flags["--metrics"].rsplit(":", 1)[1])
assert rt["metadata"]["annotations"]["prometheus.kserve.io/port"] == str(metrics_port)

for file, protocol in [("kserve/inferenceservice.yaml", "v2"), ("kserve/inferenceservice-grpc.yaml", "grpc-v2")]:
    isvc = load(file)
    assert isvc["apiVersion"] == "serving.kserve.io/v1beta1" and isvc["kind"] == "InferenceService", file
    model = isvc["spec"]["predictor"]["model"]
    assert model["modelFormat"]["name"] in formats, (file, model)
    assert model["runtime"] == name, (file, model)
    assert model["protocolVersion"] == protocol, (file, model)
    assert model["storageUri"], file
    if protocol == "grpc-v2":
        assert model["ports"] == [{"name": "h2c", "containerPort": grpc_port, "protocol": "TCP"}], model["ports"]

with open(f"{root}/deploy/Containerfile") as f:
    containerfile = f.read()
assert re.search(r'^ENTRYPOINT \["/usr/local/bin/ferrolab", "serve"\]', containerfile, re.M), containerfile
exposed = set(map(int, re.search(r"^EXPOSE (.*)$", containerfile, re.M).group(1).split()))
assert {http_port, grpc_port, metrics_port} <= exposed, exposed
cmd = re.search(r"^CMD (\[.*\])$", containerfile, re.M).group(1)
assert yaml.safe_load(cmd) == args, (cmd, args)
print("deploy: ok")

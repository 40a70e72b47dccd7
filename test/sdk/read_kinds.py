"""Reads every Ark object in a namespace (and the cluster-scoped ArkConfigs) through ark-sdk's
typed models, from the Kubernetes API named by $KUBECONFIG.

Namespaced kinds are read with the SDK's own clients (ARKClientV1alpha1/V1prealpha1, which
parse each item into its model); ArkConfig, which the SDK's client addresses as a namespaced
resource, is read as a cluster object and parsed with the SDK's ArkConfigV1alpha1 model.
Prints one JSON object: {"read": {kind: [names]}, "refused": {kind/name: error}}.

Usage: python read_kinds.py <namespace>
"""
import json
import sys

from kubernetes import client, config
from ark_sdk.client import V1_ALPHA1, V1_PREALPHA1, get_client
from ark_sdk.models import ArkConfigV1alpha1

namespace = sys.argv[1]
config.load_kube_config()
read: dict[str, list[str]] = {}
refused: dict[str, str] = {}

clients = {V1_ALPHA1: get_client(namespace, V1_ALPHA1), V1_PREALPHA1: get_client(namespace, V1_PREALPHA1)}
plurals = {
    V1_ALPHA1: ["a2atasks", "agents", "mcpservers", "memories", "models", "queries", "teams", "tools"],
    V1_PREALPHA1: ["a2aservers", "executionengines"],
}
raw = client.CustomObjectsApi()
for version, names in plurals.items():
    for plural in names:
        resource = getattr(clients[version], plural)
        # Each item separately, so one the model refuses does not hide the others.
        listed = raw.list_namespaced_custom_object("ark.mckinsey.com", version, namespace, plural)["items"]
        for item in listed:
            name = item["metadata"]["name"]
            try:
                typed = resource.get(name)
                read.setdefault(resource.kind, []).append(typed.metadata["name"])
            except Exception as e:  # the model's validation error, reported per object
                refused[f"{resource.kind}/{name}"] = str(e).splitlines()[0] + " " + " ".join(str(e).splitlines()[1:3])

for item in raw.list_cluster_custom_object("ark.mckinsey.com", V1_ALPHA1, "arkconfigs")["items"]:
    try:
        read.setdefault("ArkConfig", []).append(ArkConfigV1alpha1.from_dict(item).metadata["name"])
    except Exception as e:
        refused[f"ArkConfig/{item['metadata']['name']}"] = str(e)

print(json.dumps({"read": {k: sorted(v) for k, v in read.items()}, "refused": refused}))

"""Drives ark serve with the official Python kubernetes client (its dynamic client), as a user's
script would: discovery, create, get, list, patch, a 422, delete, and a watch (which the client
asks for with watch=True). Prints what it saw as one JSON object; the test asserts on it."""
import json
import sys

from kubernetes import client, watch
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient

config = client.Configuration()
config.host = sys.argv[1]
dynamic = DynamicClient(client.ApiClient(config))
agents = dynamic.resources.get(api_version="ark.mckinsey.com/v1alpha1", kind="Agent")
seen = {"discovered": {"name": agents.name, "namespaced": agents.namespaced, "verbs": sorted(agents.verbs)}}

body = {"apiVersion": "ark.mckinsey.com/v1alpha1", "kind": "Agent", "metadata": {"name": "py-agent"}, "spec": {"prompt": "from python"}}
created = agents.create(body=body, namespace="py")
seen["created"] = created.metadata.name
seen["got"] = agents.get(name="py-agent", namespace="py").spec.prompt
seen["listed"] = [item.metadata.name for item in agents.get(namespace="py").items]
patched = agents.patch(name="py-agent", namespace="py", body={"spec": {"description": "patched"}}, content_type="application/merge-patch+json")
seen["patched"] = patched.spec.description
try:
    agents.create(body={**body, "metadata": {"name": "Not_A_Name"}}, namespace="py")
except ApiException as e:
    seen["invalid"] = {"status": e.status, "reason": json.loads(e.body)["reason"]}
agents.delete(name="py-agent", namespace="py")

# The changes since the create, replayed by a watch: the patch, then the delete.
events = []
stream = watch.Watch()
for event in agents.watch(namespace="py", resource_version=created.metadata.resourceVersion, timeout=10, watcher=stream):
    events.append([event["type"], event["object"].metadata.name])
    if len(events) == 2:
        stream.stop()
seen["watched"] = events
print(json.dumps(seen))

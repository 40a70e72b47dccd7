"""Reads one Query through ark-sdk's typed client, or first writes its phase with the SDK's
QueryStatusUpdater (what an engine on ark-sdk calls to report a phase), from the Kubernetes API
named by $KUBECONFIG.

Prints one JSON object: {"get": the phase the SDK's model read, or its error, "list": the
phases of the namespace's Queries as the SDK lists them, or its error}.

Usage: python query_phase.py <namespace> <name> [<phase to write first>]
"""
import asyncio
import json
import sys

from ark_sdk.client import V1_ALPHA1, get_client
from ark_sdk.extensions.query import QueryRef
from ark_sdk.query_status_updater import QueryStatusUpdater

namespace, name = sys.argv[1], sys.argv[2]
if len(sys.argv) > 3:
    updater = QueryStatusUpdater(QueryRef(name=name, namespace=namespace))
    asyncio.run(updater.update_query_phase(sys.argv[3], "Paused", "written by ark-sdk"))
queries = get_client(namespace, V1_ALPHA1).queries


def first_lines(e: Exception) -> str:
    return " ".join(str(e).splitlines()[:3])


out = {}
try:
    out["get"] = queries.get(name).to_dict()["status"]["phase"]
except Exception as e:  # the model's validation error
    out["get"] = first_lines(e)
try:
    out["list"] = [q.to_dict()["status"]["phase"] for q in queries.list()]
except Exception as e:
    out["list"] = first_lines(e)
print(json.dumps(out))

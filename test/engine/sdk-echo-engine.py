"""An execution engine on upstream Ark's Python SDK (ark-sdk): it answers with what the SDK
resolved from the cluster for the Query it was sent (agent, prompt, model, the key's length),
so a test can see that ark serve serves what upstream's SDK reads."""
import sys

from ark_sdk.executor import BaseExecutor, Message
from ark_sdk.executor_app import ExecutorApp


class Echo(BaseExecutor):
    async def execute_agent(self, request):
        model = request.agent.model
        key = model.config.get(model.type, {}).get("apiKey", "")
        return [Message(role="assistant", content=(
            f"sdk engine: agent {request.agent.name}, prompt {request.agent.prompt!r}, "
            f"model {model.name} ({model.type}), key {len(key)} chars, input {request.userInput.content!r}"
        ))]


ExecutorApp(Echo("sdk-echo"), "sdk-echo").run(host="127.0.0.1", port=int(sys.argv[1]))

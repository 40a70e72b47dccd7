"""A minimal execution engine written on ark-sdk's BaseExecutor.

ark's query workers send it a Query over A2A with only the query extension's QueryRef; the
SDK's adapter resolves the Query, its target Agent and the Agent's Model by reading them from
the Kubernetes API named by $KUBECONFIG (here: ark serve), and the executor answers from what
it resolved, so the answer proves the resolution.

Usage: python engine.py <port>
"""
import sys

import uvicorn
from ark_sdk.executor import BaseExecutor, ExecutionEngineRequest, Message
from ark_sdk.executor_app import ExecutorApp


class ResolvingExecutor(BaseExecutor):
    async def execute_agent(self, request: ExecutionEngineRequest) -> list[Message]:
        agent = request.agent
        answer = (
            f"{agent.name} ({self._resolve_prompt(agent)}) on {agent.model.type} model "
            f"{agent.model.name} answers: {request.userInput.content}"
        )
        return [Message(role="assistant", content=answer)]


if __name__ == "__main__":
    port = int(sys.argv[1])
    app = ExecutorApp(ResolvingExecutor("sdk-engine"), "sdk-engine")
    # ExecutorApp.run() would advertise https://host:port in the agent card; this engine serves
    # plain HTTP, so its card says so (clients call the interface the card declares).
    app.agent_card.supported_interfaces[0].url = f"http://127.0.0.1:{port}"
    uvicorn.run(app.build(), host="127.0.0.1", port=port, log_level="warning")

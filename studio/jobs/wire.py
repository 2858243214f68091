"""The worker API's addresses and headers, shared by the server's routes (studio.web.worker_api)
and the remote worker (studio.jobs.remote). Imports nothing, so the routes can be built at once."""

PREFIX = "/studio/worker"
WORKER_HEADER = "x-studio-worker"
ATTEMPT_HEADER = "x-studio-attempt"
SHA256_HEADER = "x-studio-sha256"


def hello_url() -> str:
    return f"{PREFIX}/hello"


def input_url(run_id: int) -> str:
    return f"{PREFIX}/run/{run_id}/input"


def file_url(run_id: int, kind: str) -> str:
    return f"{PREFIX}/run/{run_id}/file/{kind}"

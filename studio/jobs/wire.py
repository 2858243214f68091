"""The worker API's addresses and headers, shared by the server's routes (studio.web.worker_api)
and the remote worker (studio.jobs.remote). Imports nothing, so the routes can be built at once."""

import re

PREFIX = "/studio/worker"
WORKER_HEADER = "x-studio-worker"
ATTEMPT_HEADER = "x-studio-attempt"
SHA256_HEADER = "x-studio-sha256"
SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")  # a file's sha256 as both sides send it: lowercase hex


def hello_url() -> str:
    return f"{PREFIX}/hello"


# The images a run starts from: its input, and the end image (a keyframe) where it has one.
IMAGE_ROLES = ("input", "end")


def input_url(run_id: int, role: str = "input") -> str:
    return f"{PREFIX}/run/{run_id}/{role}"


def file_url(run_id: int, kind: str) -> str:
    return f"{PREFIX}/run/{run_id}/file/{kind}"


# Exactly the worker API's routes: the password gate lets these through (they check a worker token
# themselves), and nothing else under the prefix, which would reach the UI's server.
_API_PATH = re.compile(rf"^{re.escape(PREFIX)}/(hello|run/[0-9]{{1,19}}/({'|'.join(IMAGE_ROLES)}|file/[a-z]{{1,16}}))$")


def is_worker_api_path(path: str) -> bool:
    return bool(_API_PATH.match(path))

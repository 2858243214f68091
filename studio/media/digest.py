"""The sha256 of a file, read in 1 MiB blocks: how inputs, results and LoRAs are named and checked
(the hub and the remote worker compare it across hosts; the LoRA library records it with a run)."""

from __future__ import annotations

import hashlib
from pathlib import Path

BLOCK = 1 << 20


def file_sha256(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()

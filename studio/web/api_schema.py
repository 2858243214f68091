"""The HTTP API's OpenAPI document, served at /api/openapi.json. It is the API's contract: the tests
check every response the routes give against it, so a field added to a response is added here."""

from __future__ import annotations

from typing import Any

API_VERSION = "1"


def _nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "param"],
            "properties": {
                "message": {"type": "string", "description": "What is wrong and how to fix it, in words."},
                "param": _nullable("string", description="The parameter at fault, when one is."),
                "suggestion": {"description": "The nearest valid value, when there is one."},
            },
        },
    },
}

FILES = {
    "type": "object",
    "required": ["video", "poster", "thumb"],
    "properties": {kind: _nullable("string", description=f"URL of the run's {kind}, once it exists.")
                   for kind in ("video", "poster", "thumb")},
}

RUN = {
    "type": "object",
    "required": ["id", "url", "status", "engine", "prompt", "seed", "params", "progress", "files", "error",
                 "parent_id", "group_id", "queued_at", "started_at", "finished_at", "timings", "in_trash"],
    "properties": {
        "id": {"type": "integer"},
        "url": {"type": "string"},
        "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed", "canceled", "interrupted"]},
        "engine": {"type": "string"},
        "prompt": {"type": "string"},
        "seed": _nullable("integer"),
        "params": {"type": "object", "description": "The validated request, defaults filled in."},
        "progress": {
            "type": "object",
            "required": ["step", "total_steps", "fraction"],
            "properties": {"step": {"type": "integer"}, "total_steps": {"type": "integer"},
                           "fraction": {"type": "number", "minimum": 0, "maximum": 1},
                           "stage": _nullable("string", enum=["loading", "rendering", "encoding", "saving", None],
                                              description="What a running run is doing now.")},
        },
        "files": FILES,
        "error": _nullable("string"),
        "parent_id": _nullable("integer"),
        "group_id": _nullable("integer", description="The sweep or batch the run belongs to."),
        "queued_at": {"type": "string", "format": "date-time"},
        "started_at": _nullable("string", format="date-time"),
        "finished_at": _nullable("string", format="date-time"),
        "timings": {
            "type": "object",
            "properties": {name: _nullable("number") for name in ("load_seconds", "infer_seconds", "encode_seconds")},
        },
        "in_trash": {"type": "boolean"},
    },
}

RUN_LIST = {
    "type": "object",
    "required": ["runs", "total", "more", "page", "pages", "page_size"],
    "properties": {"runs": {"type": "array", "items": {"$ref": "#/components/schemas/Run"}},
                   "total": {"type": "integer", "description": "matching runs counted (all of them unless `more`)"},
                   "more": {"type": "boolean", "description": "true: the count stopped a few pages past this one; "
                                                             "more runs than `total` match"},
                   "page": {"type": "integer", "description": "past the last page: that page, with no runs"},
                   "pages": {"type": "integer"}, "page_size": {"type": "integer"}},
}

QUEUED = {
    "type": "object",
    "required": ["id", "status", "url"],
    "properties": {"id": {"type": "integer"}, "status": {"type": "string"}, "url": {"type": "string"}},
}

CANCELED = {
    "type": "object",
    "required": ["id", "status"],
    "properties": {"id": {"type": "integer"},
                   "status": {"type": "string", "enum": ["canceled", "canceling"]}},
}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _errors(*codes: str) -> dict[str, Any]:
    words = {"400": "The request breaks a rule; `error.param` names the parameter.",
             "401": "A password protects this studio: send a live worker token, or log in first.",
             "404": "No such run.",
             "409": "The run has already finished.",
             "413": "The upload is too large.",
             "503": "The history database is busy or the studio is still starting; try again.",
             "507": "The disk is full; nothing was queued."}
    return {code: _json("Error", words[code]) for code in codes}


RUN_ID = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Studio API", "version": API_VERSION,
                 "description": "Queue image-to-video runs, follow them and fetch their files. Every run is "
                                "recorded in the same history as the studio's pages."},
        "paths": {
            "/api/runs": {
                "post": {
                    "summary": "Queue a run",
                    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                        "type": "object",
                        "required": ["image"],
                        "properties": {
                            "image": {"type": "string", "format": "binary", "description": "The input image."},
                            "end_image": {"type": "string", "format": "binary",
                                          "description": "Optional: the last frame, for engines that take one."},
                            "params": {"type": "string", "description": "A JSON object: `engine`, `prompt`, "
                                       "`negative_prompt`, `seed` and the engine's parameters (e.g. frames). "
                                       "Omitted values take the engine's defaults; the size follows the image."},
                        }}}}},
                    "responses": {"201": _json("Queued", "Queued; follow it at `url`."),
                                  **_errors("400", "401", "413", "503", "507")},
                },
                "get": {
                    "summary": "Search runs",
                    "parameters": [
                        {"name": "q", "in": "query", "schema": {"type": "string"},
                         "description": "Words the prompt or negative prompt must contain (prefix match; any part of a "
                                        "Chinese, Japanese, Korean or Thai word)."},
                        {"name": "status", "in": "query", "schema": {"type": "string"}},
                        {"name": "engine", "in": "query", "schema": {"type": "string"}},
                        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                        {"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                    ],
                    "responses": {"200": _json("RunList", "One page of runs, newest first."),
                                  **_errors("400", "401", "503")},
                },
            },
            "/api/runs/{run_id}": {
                "get": {"summary": "A run's status, progress and files", "parameters": [RUN_ID],
                        "responses": {"200": _json("Run", "The run."), **_errors("401", "404", "503")}},
            },
            "/api/runs/{run_id}/cancel": {
                "post": {"summary": "Cancel a run", "parameters": [RUN_ID],
                         "responses": {"200": _json("Canceled", "Canceled (queued) or being canceled (running)."),
                                       **_errors("401", "404", "409", "503")}},
            },
            "/api/openapi.json": {
                "get": {"summary": "This document",
                        "responses": {"200": {"description": "The OpenAPI document.",
                                              "content": {"application/json": {"schema": {"type": "object"}}}},
                                      **_errors("401")}},
            },
        },
        # On this machine only (loopback) no credentials are needed; served beyond it, a session
        # from the login form or a worker token (`launch.py worker-token create NAME`).
        "security": [{}, {"session": []}, {"workerToken": []}],
        "components": {"schemas": {"Error": ERROR, "Run": RUN, "RunList": RUN_LIST, "Queued": QUEUED,
                                   "Canceled": CANCELED},
                       "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "studio_session"},
                                           "workerToken": {"type": "http", "scheme": "bearer"}}},
    }

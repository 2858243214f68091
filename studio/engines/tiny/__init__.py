"""Tiny randomly initialised versions of the real pipelines, built in code for tests and developer runs."""

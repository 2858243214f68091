"""Tiny, randomly initialised pipelines for tests and developer runs, built entirely in code.

Each module builds one family's pipeline with the real classes, shrunk to a few thousand parameters,
and saves it with safetensors: `build_tiny_<family>(folder) -> folder`. The developer-only engines
("tiny-i2vgen-xl", …) load those folders through exactly the same code as the real engines; they
keep them in <data_dir>/tiny-models/<engine id> and build them there on first use.

Fault injection for the tiny engines is studio/devtools/faults.py.
"""

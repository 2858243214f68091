"""What exists for tests and developer mode only: tiny random pipelines built in code (tiny/) and
fault injection for the out-of-memory path (faults.py). Real models never use either."""

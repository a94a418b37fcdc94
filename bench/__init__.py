"""Playdeck's benchmarks: bench/run.py (speed), bench/reliability.py (faults)."""

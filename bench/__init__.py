"""Reproducible benchmarks; `make bench` (python -m bench) reruns them and rewrites BENCHMARKS.md tables."""

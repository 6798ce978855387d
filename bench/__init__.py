"""Benchmarks: ratios against peers, JSON out (``python -m bench.<name>``)."""

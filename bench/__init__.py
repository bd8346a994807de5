"""Benchmarks: scripts that print numbers, never tests."""

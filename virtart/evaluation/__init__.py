"""Measuring results: fixed quality metrics that any two runs can be compared with."""

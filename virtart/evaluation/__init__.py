"""Measuring the product: interactive-segmentation and detection protocols, quality metrics.

Used by the ``eval-*`` CLI commands and the benchmarks under ``bench/``; nothing in the
stylize or segment path imports it.
"""

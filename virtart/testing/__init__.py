"""Test harness helpers shipped with the package: hostile inputs and a loopback app launcher.

Nothing here is imported by the library, the CLI or the app; the tests and the
``bench/`` reliability scripts use it.
"""

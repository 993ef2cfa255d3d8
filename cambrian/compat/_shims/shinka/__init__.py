"""Cambrian's stand-in for the ``shinka`` package: only ``shinka.core.run_shinka_eval``.

See :mod:`cambrian.compat`. A really installed ``shinka`` takes precedence.
"""

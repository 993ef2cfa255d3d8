"""Stand-in ``shinka`` and ``openevolve`` packages; see :mod:`cambrian.compat`.

This directory goes on ``sys.path`` itself, so its subpackages import under their
top-level names. The file only makes the directory ship with the wheel.
"""

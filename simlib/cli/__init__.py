"""The command line, the only part of ``simlib`` that prints.

``simlib run``, ``sweep``, ``effects``, ``ratings`` and ``validate`` (``main``),
``simlib report`` (``report``) and ``simlib calibrate`` (``calibrate``).
"""

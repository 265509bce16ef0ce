"""Experiments over policy variants.

Plans and sweeps with common random numbers (``sweep``), every kind of input file and
its check (``filekinds``), and calibration to observed targets (``calibration``).
"""

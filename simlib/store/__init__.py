"""Runs on disk.

Output folders the workbench owns and never deletes what it did not create (``rundir``),
the run store (``runstore``), rating data sets (``ratingdata``), and what produced a
result: code version, inputs and their hashes (``provenance``).
"""

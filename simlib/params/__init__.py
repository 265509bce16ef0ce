"""The parameters of a run, read, validated and derived.

Reading and validating YAML with documented leaves (``config``), deriving one record from
another (``changes``), the regulation tables (``tables``), the scenario, policy,
training-plan and campaign records (``scenario``, ``policy``, ``training``, ``campaign``),
and a run's inputs as a user names them (``runinputs``). Never imports model-side code.
"""

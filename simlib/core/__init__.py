"""The foundation every other part stands on.

User-facing errors (``errors``), every path (``paths``), the domain's fixed vocabularies
(``domain``) and the keyed random streams (``streams``). Imports nothing else of
``simlib``.
"""

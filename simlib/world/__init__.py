"""The simulated world's people.

Agencies' workforce as numpy arrays: structure, hierarchy, grades and latent attributes
(``workforce``), the yearly workforce flows: who leaves, moves, is hired (``flows``),
and careers: promotion, kenaikan pangkat, talent pools (``careers``).
"""

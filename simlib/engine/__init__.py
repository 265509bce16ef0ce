"""The simulation itself.

The declared outcomes (``outcomes``), the agency calendar and its steps under SimPy
(``model``), and the training (``training``) and vaccination-campaign (``services``)
sub-simulations.
"""

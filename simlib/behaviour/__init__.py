"""How civil servants respond to the rules.

Perceived fairness, resistance to change, adoption and gaming (``adoption``); effort and
true performance each quarter (``performance``).
"""

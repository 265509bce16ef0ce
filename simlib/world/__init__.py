"""The simulated world: agencies' people, their flows in and out, and their careers."""

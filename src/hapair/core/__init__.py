"""Pure protocol cores: state machines that take inputs and `now_ns` and return effects.

Nothing under this package may do I/O, read a clock, sleep or draw random numbers; the layering
test (tests/test_layering.py) and ruff's banned-api rule (core/ruff.toml) enforce it.
"""

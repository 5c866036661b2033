"""Deterministic in-process simulation of a two-node pair: virtual clock, seeded randomness, an
in-memory network and disks with faults, driving the real pure cores.

Nothing here reads the clock, sleeps, touches the file system or opens sockets; a seed fixes every
choice, so a failing run replays exactly. The simulator imports the cores and never the shell
(adapters, daemon). See ../shared/research/architecture.md section 7 for where it is going.
"""

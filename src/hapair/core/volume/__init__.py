"""The pure replicated-volume core: DRBD's semantics without I/O.

Generations and persistence (states, generation identifiers, the connect-time handshake, split-brain
policies, the quick-sync bitmap, the activity log, on-disk metadata, status text) sit beside the
replication engine (wire messages, authentication, the connection, the replica, resync, verify).
Every module here takes inputs and `now_ns` and returns values or effects; none does I/O.
"""

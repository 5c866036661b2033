"""hapair: two-node high availability in one Python program.

keepalived-compatible VRRP, a DRBD-like replicated volume, an NBD export of that volume, and an
orchestrator that fails the whole stack over safely. See ../shared/DESIGN.md for the layering.
"""

__version__ = "0.1.0"

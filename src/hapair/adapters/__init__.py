"""Adapters turn the cores' effects into real I/O (sockets, netlink, files, processes)."""

"""DRBD configuration (`drbd.conf`, `global_common.conf`, `*.res`), 8.4 and 9 grammar."""

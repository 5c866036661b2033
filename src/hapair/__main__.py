"""`python -m hapair` is the same as the `hapair` console script."""

from hapair.cli.main import entry

entry()

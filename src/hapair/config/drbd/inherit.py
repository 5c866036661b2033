"""Option inheritance, as drbd-utils 9.22 does it (``expand_common`` in drbdadm_postparse.c).

Options flow from ``common`` into each resource; from the resource's ``disk`` section and from a
resource-level ``volume N { disk { } }`` into every host's volume N; from the resource's ``net``
section (and a ``connection-mesh``'s) into every connection; from a connection's ``disk`` section
and from both endpoints' volume N into the connection's peer device N.

An option written in the more specific place always wins. When one place inherits the same option
from two parents with *different* values (say ``common { disk { al-extents 500; } }`` and
``volume 0 { disk { al-extents 2000; } }`` in a resource), drbdadm 9.22 refuses the configuration
("ambiguous inheritance"); so does hapair. drbdadm-84 silently keeps the first parent's value
instead; that is one of the documented differences (tests/interop/test_drbdconf_oracle.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hapair.errors import ConfigError, SourceLocation

from .model import OptionSection, OptionValue

Effective = Mapping[str, OptionValue]


@dataclass
class Inheriting:
    """Options of one place while parents are merged in; remembers which ones were inherited."""

    values: dict[str, OptionValue]
    inherited: set[str]

    @classmethod
    def explicit(cls, options: Iterable[OptionValue]) -> Inheriting:
        return cls({o.name: o for o in options}, set())

    def expand(
        self,
        parent: Iterable[OptionValue],
        errors: list[ConfigError],
        where: SourceLocation,
        resource: str,
        keys: frozenset[str] | None = None,
    ) -> None:
        """Take every option of `parent` this place does not have yet (only `keys`, if given)."""
        for option in parent:
            if keys is not None and option.name not in keys:
                continue
            existing = self.values.get(option.name)
            if existing is None:
                self.values[option.name] = option
                self.inherited.add(option.name)
            elif option.name in self.inherited and existing.value != option.value:
                errors.append(
                    ConfigError(
                        where.file,
                        where.line,
                        f'in resource {resource}, ambiguous inheritance for option "{option.name}": '
                        f'should be "{existing.text}" ({_at(existing.location)}) and "{option.text}" '
                        f"({_at(option.location)}) at the same time",
                    )
                )

    def freeze(self) -> dict[str, OptionValue]:
        return dict(self.values)


def _at(location: SourceLocation) -> str:
    return f"{location.file}:{location.line}"


def merged(
    specific: OptionSection | Iterable[OptionValue], *parents: OptionSection | Iterable[OptionValue]
) -> dict[str, OptionValue]:
    """`specific` with every option of `parents` it lacks (first parent first); no conflicts possible
    because each parent only fills gaps of a place that wrote its own options explicitly."""
    out = {o.name: o for o in specific}
    for parent in parents:
        for option in parent:
            out.setdefault(option.name, option)
    return out


def only(options: Effective, keys: frozenset[str], keep: bool = True) -> dict[str, OptionValue]:
    """The options whose names are (keep=True) or are not (keep=False) in `keys`."""
    return {name: value for name, value in options.items() if (name in keys) == keep}

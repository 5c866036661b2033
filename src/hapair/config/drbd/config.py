"""`load_resources`: read a DRBD configuration, check it, and return it resolved.

Errors are collected over the whole configuration (every file, every resource) and raised
together as `hapair.errors.ConfigErrors`, each one ``FILE:LINE: message`` (``str(error)`` or
``error.drbd_style()``). A CLI prints them to stderr and exits with status 3
(`hapair.cli.main.EXIT_CONFIG`), hapair's code for configuration errors; drbdadm itself exits 10.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass

from hapair.errors import ConfigError, ConfigErrors, SourceLocation

from .interpret import interpret
from .model import CommonDecl, GlobalOptions
from .node import NodeView, build_node_view, matching_hosts, volume_minors
from .resolve import ResolvedHost, Resource, resolve_resource
from .source import MemoryReader, SourceReader, read_configuration
from .validate import validate_resources


@dataclass(frozen=True, slots=True)
class DrbdConfig:
    """A checked configuration. `hostname` is the node it was loaded for (None: no node chosen,
    e.g. for ``dump``); resources without a host section for that node are *ignored* on it, as
    drbdadm ignores them, but still listed."""

    path: str
    files: tuple[str, ...]
    global_options: GlobalOptions
    common: CommonDecl | None
    resources: tuple[Resource, ...]
    hostname: str | None = None
    local_addresses: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def names(self) -> list[str]:
        return [r.name for r in self.resources]

    def resource(self, name: str) -> Resource:
        for resource in self.resources:
            if resource.name == name:
                return resource
        raise KeyError(f"no resource '{name}' in {self.path}")

    def host_for(self, resource: str, node: str | None = None) -> ResolvedHost | None:
        """The host section of `resource` for `node` (default: this config's hostname)."""
        name = node if node is not None else self.hostname
        if name is None:
            return None
        found = matching_hosts(self.resource(resource), name, self.local_addresses)
        return found[0] if found else None

    def is_ignored(self, resource: str) -> bool:
        """True when a node was chosen and `resource` has no host section for it."""
        return self.hostname is not None and self.host_for(resource) is None

    def node(self, resource: str, node: str | None = None) -> NodeView:
        """`resource` as seen from `node` (default: this config's hostname). Raises ConfigError
        when the resource has no host section for that node."""
        res = self.resource(resource)
        name = node if node is not None else self.hostname
        host = self.host_for(resource, name)
        if host is None:
            loc = res.location
            who = name if name is not None else "this node (no host name given)"
            raise ConfigError(loc.file, loc.line, f"'{resource}' not defined in your config (for host {who})")
        return build_node_view(res, host, volume_minors(self.resources, host.name))

    def nodes(self) -> list[NodeView]:
        """Every resource this config's node takes part in, as that node sees it."""
        return [self.node(r.name) for r in self.resources if not self.is_ignored(r.name)]


def load_resources(
    path: str,
    reader: SourceReader,
    hostname: str | None = None,
    *,
    local_addresses: Collection[str] = (),
) -> DrbdConfig:
    """Read `path` (and its includes) through `reader`, resolve and check every resource.

    `hostname` selects "this node" (``uname -n`` by default in the CLI, ``--node NAME`` to
    override); `local_addresses` are this node's IP addresses, for ``floating`` sections.
    Raises ConfigErrors listing every problem found (exit code 3 in the CLI).
    """
    source = read_configuration(path, reader)
    errors: list[ConfigError] = list(source.errors)
    parsed, interpret_errors = interpret(path, source.files, source.statements)
    errors.extend(interpret_errors)
    if errors:
        # Structural checks (hosts, volumes, connections) run only on fully understood
        # statements; otherwise one typo would also report its consequences.
        raise ConfigErrors(_unique(errors))
    common = parsed.common.sections if parsed.common is not None else None
    resources: list[Resource] = []
    for decl in parsed.resources:
        resource, resource_errors = resolve_resource(decl, common)
        errors.extend(resource_errors)
        resources.append(resource)
    errors.extend(validate_resources(resources))
    if hostname is not None:
        errors.extend(_node_errors(resources, hostname, local_addresses))
    if errors:
        raise ConfigErrors(_unique(errors))
    return DrbdConfig(
        path=path,
        files=tuple(source.files),
        global_options=parsed.global_options,
        common=parsed.common,
        resources=tuple(resources),
        hostname=hostname,
        local_addresses=tuple(local_addresses),
    )


def parse_config_text(text: str, file: str = "drbd.conf", hostname: str | None = None) -> DrbdConfig:
    """`load_resources` for one in-memory file (tests, tools); ``include`` finds nothing."""
    return load_resources(file, MemoryReader({file: text}), hostname)


def _node_errors(
    resources: list[Resource], hostname: str, local_addresses: Collection[str]
) -> list[ConfigError]:
    errors: list[ConfigError] = []
    for resource in resources:
        found = matching_hosts(resource, hostname, local_addresses)
        if len(found) > 1:
            where: SourceLocation = found[1].section.location
            errors.append(
                ConfigError(
                    where.file,
                    where.line,
                    f"in resource {resource.name}, on {' '.join(found[0].names)} {{ ... }} ... on "
                    f"{' '.join(found[1].names)} {{ ... }}: "
                    "There are multiple host sections for this node.",
                )
            )
    return errors


def _unique(errors: list[ConfigError]) -> list[ConfigError]:
    seen: set[str] = set()
    out: list[ConfigError] = []
    for error in errors:
        key = str(error)
        if key not in seen:
            seen.add(key)
            out.append(error)
    return out

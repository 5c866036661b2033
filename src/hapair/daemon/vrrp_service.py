"""The asyncio shell around the pure VRRP core: real sockets, netlink, scripts and one timer.

`VrrpService` owns one `VrrpNode` (all instances of this host). Inputs come from the raw VRRP
sockets, the netlink link monitor, finished track scripts, the timer and the stop request; each is
fed to the node with the monotonic clock, and the effects it returns are executed strictly in the
order given (advert, then VIPs, then gratuitous ARPs, as keepalived does) by one executor task.
The core never waits, so the only waits are here, and each has a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import os
import shlex
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hapair.adapters.garp import GarpSender
from hapair.adapters.netlink import InterfaceInfo, LinkMonitor, NetlinkClient
from hapair.adapters.scripts import ScriptOutcome as RunOutcome
from hapair.adapters.scripts import ScriptRunner
from hapair.adapters.vrrp_socket import VrrpSocket
from hapair.core.vrrp import (
    AddVips,
    AdvertReceived,
    Effect,
    GarpTarget,
    InstanceSettings,
    InterfaceStateChanged,
    LogLine,
    NodeInput,
    RemoveVips,
    RunNotify,
    RunTrackScript,
    ScriptOutcome,
    ScriptResult,
    SendAdvert,
    SendGarps,
    StartRequested,
    StateChanged,
    StopRequested,
    TimerExpired,
    VrrpNode,
    VrrpScriptSettings,
    build_garp_frame,
    build_unsolicited_na_frame,
)
from hapair.daemon.log_lines import RateLimitedLog
from hapair.daemon.vrrp_state_file import snapshot_document, write_atomically
from hapair.errors import AdapterError

log = logging.getLogger("hapair.vrrp")

MAX_PENDING_EFFECTS = 10_000
STATE_FILE_PERIOD_S = 1.0
NETLINK_TIMEOUT_S = 5.0
STOP_NOTIFY_WAIT_S = 1.0


@dataclass(frozen=True, slots=True)
class VrrpServiceOptions:
    detailed_log: bool = False
    state_file: Path | None = None
    config_path: str = ""
    startup_delay_s: float = 0.0


class VrrpService:
    """Runs the VRRP instances of this host in the current network namespace until stopped."""

    def __init__(
        self,
        instances: Sequence[InstanceSettings],
        scripts: Sequence[VrrpScriptSettings] = (),
        options: VrrpServiceOptions | None = None,
        *,
        clock: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.settings = tuple(instances)
        self.scripts = tuple(scripts)
        self.options = options or VrrpServiceOptions()
        self.clock = clock
        self.node: VrrpNode | None = None
        self.log = RateLimitedLog(log, detailed_enabled=self.options.detailed_log)
        self._netlink = NetlinkClient()
        self._monitor = LinkMonitor()
        self._runner = ScriptRunner()
        self._interfaces: dict[str, InterfaceInfo] = {}
        self._sockets: dict[tuple[str | None, str | None], VrrpSocket] = {}
        self._socket_of: dict[str, VrrpSocket] = {}
        self._garp: dict[str, GarpSender] = {}
        self._links_up: dict[str, bool] = {}
        self._pending: deque[Effect] = deque()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._state_dirty = True
        self._wall_offset_ns = time.time_ns() - time.monotonic_ns()

    # ------------------------------------------------------------------------------ lifecycle

    async def run(self, stop: asyncio.Event) -> None:
        """Set up, start the instances, serve until `stop` is set, then shut down cleanly."""
        await self._netlink.open()
        try:
            await self._setup()
            if self.options.startup_delay_s > 0:
                self.log.line(f"Delaying startup for {self.options.startup_delay_s:g} seconds", 0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.options.startup_delay_s)
            if not stop.is_set():
                await self._serve(stop)
        finally:
            await self._teardown()

    async def _setup(self) -> None:
        names = {s.interface for s in self.settings if s.interface}
        names |= {t.name for s in self.settings for t in s.track_interfaces}
        names |= {v.device for s in self.settings for v in s.all_vips() if v.device}
        for name in sorted(names):
            self._interfaces[name] = await asyncio.wait_for(self._netlink.interface(name), NETLINK_TIMEOUT_S)
        addresses = {name: [a.ip for a in info.ipv4] for name, info in self._interfaces.items()}
        self.node = VrrpNode(self.settings, self.scripts, interface_addresses=addresses)
        for settings in self.settings:
            self._socket_of[settings.name] = self._open_socket(settings)
        for name, info in self._interfaces.items():
            sender = GarpSender(name)
            sender.open()
            self._garp[name] = sender
            self._links_up[name] = info.up
        await self._monitor.open()

    def _open_socket(self, settings: InstanceSettings) -> VrrpSocket:
        ifname = settings.interface
        if ifname is None:
            raise AdapterError(f"({settings.name}) unicast without an interface is not supported yet")
        unicast_src: str | None = None
        if settings.unicast:
            source = settings.unicast_src_ip or self._interfaces[ifname].primary_ipv4
            unicast_src = str(source)
        key = (ifname, unicast_src)
        if key not in self._sockets:
            sock = VrrpSocket(ifname, self._interfaces[ifname].index, unicast_src=unicast_src)
            sock.open()
            asyncio.get_running_loop().add_reader(sock.fileno(), self._on_readable, sock)
            self._sockets[key] = sock
        return self._sockets[key]

    async def _serve(self, stop: asyncio.Event) -> None:
        for name, up in self._links_up.items():
            if not up:
                self.feed(InterfaceStateChanged(name, False))
        self.feed(StartRequested())
        executor = asyncio.get_running_loop().create_task(self._execute_effects())
        links = asyncio.get_running_loop().create_task(self._watch_links())
        state_writer = asyncio.get_running_loop().create_task(self._write_state_periodically())
        try:
            await stop.wait()
            self.log.line("Stopping", self.clock())
            self.feed(StopRequested())
            await self._drain()
            await self._runner.wait_idle(STOP_NOTIFY_WAIT_S)
        finally:
            for task in (executor, links, state_writer):
                task.cancel()
            await asyncio.gather(executor, links, state_writer, return_exceptions=True)
            self._write_state()

    async def _teardown(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        for sock in self._sockets.values():
            with contextlib.suppress(AdapterError, ValueError):
                loop.remove_reader(sock.fileno())
            sock.close()
        for sender in self._garp.values():
            sender.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._runner.close()
        await self._monitor.close()
        await self._netlink.close()

    # ------------------------------------------------------------------------------ inputs

    def feed(self, event: NodeInput) -> None:
        """Hand one input to the core and queue its effects; re-arm the timer."""
        assert self.node is not None
        now = self.clock()
        effects = self.node.handle(event, now)
        if len(self._pending) + len(effects) > MAX_PENDING_EFFECTS:
            raise AdapterError("VRRP effect queue overflow: the executor is stuck")
        self._pending.extend(effects)
        if effects:
            self._wakeup.set()
        self._arm_timer(now)

    def _arm_timer(self, now: int) -> None:
        assert self.node is not None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.node.next_deadline()
        if deadline is not None:
            delay = max(0.0, (deadline - now) / 1e9)
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.feed(TimerExpired())

    def _on_readable(self, sock: VrrpSocket) -> None:
        try:
            datagrams = sock.receive_all()
        except AdapterError as exc:
            self.log.line(str(exc), self.clock(), key="socket-error")
            return
        for datagram in datagrams:
            self.feed(AdvertReceived(datagram.data, interface=sock.ifname))

    async def _watch_links(self) -> None:
        async for change in self._monitor.events():
            if change.name not in self._links_up or self._links_up[change.name] == change.up:
                continue
            self._links_up[change.name] = change.up
            self.feed(InterfaceStateChanged(change.name, change.up))

    def _script_done(self, name: str, task: asyncio.Task[RunOutcome]) -> None:
        if task.cancelled() or self.node is None:
            return
        outcome = task.result()
        if outcome.timed_out:
            result = ScriptResult(name, ScriptOutcome.TIMED_OUT)
        elif outcome.exit_status is None:
            result = ScriptResult(name, ScriptOutcome.EXITED, 127)
        elif outcome.exit_status < 0:
            result = ScriptResult(name, ScriptOutcome.SIGNALLED, -outcome.exit_status)
        else:
            result = ScriptResult(name, ScriptOutcome.EXITED, outcome.exit_status)
        self.feed(result)

    # ------------------------------------------------------------------------------ effects

    async def _execute_effects(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            self._idle.clear()
            while self._pending:
                await self._execute(self._pending.popleft())
            self._idle.set()

    async def _drain(self, timeout_s: float = NETLINK_TIMEOUT_S) -> None:
        """Wait until every queued effect has run (used at stop)."""
        if self._pending:
            self._idle.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout_s)

    async def _execute(self, effect: Effect) -> None:
        now = self.clock()
        match effect:
            case LogLine(text=text, detailed=detailed, rate_limit_key=key):
                self.log.line(text, now, detailed=detailed, key=key)
            case SendAdvert():
                self._send_advert(effect)
            case AddVips(vips=vips):
                for vip in vips:
                    await self._change_vip(effect.instance, vip.address, vip.device, vip.label, add=True)
            case RemoveVips(vips=vips):
                for vip in vips:
                    await self._change_vip(effect.instance, vip.address, vip.device, None, add=False)
            case SendGarps(targets=targets):
                self._send_garps(targets)
            case RunNotify():
                self._run_notify(effect)
            case RunTrackScript(name=name, script=script, timeout=timeout):
                task = asyncio.get_running_loop().create_task(
                    self._runner.run(shlex.split(script), timeout / 1e9)
                )
                task.add_done_callback(functools.partial(self._script_done, name))
            case StateChanged():
                self._state_dirty = True
                self._write_state()
            case _:
                raise AdapterError(f"unknown VRRP effect {effect!r}")

    def _send_advert(self, effect: SendAdvert) -> None:
        sock = self._socket_of.get(effect.instance)
        if sock is None:
            return
        try:
            sock.send(effect.data, str(effect.destination))
        except AdapterError as exc:
            self.log.line(str(exc), self.clock(), key=f"send-{effect.instance}")

    async def _change_vip(
        self,
        instance: str,
        address: ipaddress.IPv4Interface | ipaddress.IPv6Interface,
        device: str | None,
        label: str | None,
        *,
        add: bool,
    ) -> None:
        ifname = device or self._instance_interface(instance)
        info = self._interfaces.get(ifname)
        if info is None or not isinstance(address, ipaddress.IPv4Interface):
            self.log.line(f"({instance}) cannot manage VIP {address} on {ifname}", self.clock())
            return
        try:
            if add:
                await asyncio.wait_for(
                    self._netlink.add_address(info.index, address, label), NETLINK_TIMEOUT_S
                )
            else:
                await asyncio.wait_for(self._netlink.remove_address(info.index, address), NETLINK_TIMEOUT_S)
        except (AdapterError, TimeoutError) as exc:
            verb = "adding" if add else "removing"
            self.log.line(f"({instance}) {verb} VIP {address} failed: {exc}", self.clock())

    def _instance_interface(self, instance: str) -> str:
        for settings in self.settings:
            if settings.name == instance and settings.interface:
                return settings.interface
        return ""

    def _send_garps(self, targets: Sequence[GarpTarget]) -> None:
        for target in targets:
            ifname, address = target.interface, target.address
            sender = self._garp.get(ifname)
            if sender is None:
                continue
            if isinstance(address, ipaddress.IPv4Address):
                frame = build_garp_frame(sender.mac, address)
            else:
                frame = build_unsolicited_na_frame(sender.mac, address)
            try:
                sender.send(frame)
            except AdapterError as exc:
                self.log.line(str(exc), self.clock(), key=f"garp-{ifname}")

    def _run_notify(self, effect: RunNotify) -> None:
        if effect.script:
            self._runner.start(shlex.split(effect.script))
        if effect.generic:
            self._runner.start([*shlex.split(effect.generic), *effect.generic_args])

    # ------------------------------------------------------------------------------ state file

    async def _write_state_periodically(self) -> None:
        while True:
            await asyncio.sleep(STATE_FILE_PERIOD_S)
            self._write_state()

    def _write_state(self) -> None:
        if self.options.state_file is None or self.node is None:
            return
        document = snapshot_document(
            self.node.snapshot(),
            pid=os.getpid(),
            config=self.options.config_path,
            wall_offset_ns=self._wall_offset_ns,
        )
        try:
            write_atomically(self.options.state_file, document)
        except OSError as exc:
            self.log.line(f"cannot write state file: {exc}", self.clock(), key="state-file")

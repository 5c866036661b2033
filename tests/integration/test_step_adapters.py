"""The orchestrator's step adapters on a real XFS filesystem in a loop device (root)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hapair.adapters import filesystems, services
from hapair.adapters.filesystems import FilesystemError
from hapair.adapters.services import ServiceCommands
from labkit import wait_for

pytestmark = [pytest.mark.root]


@pytest.fixture
def xfs_device(tmp_path: Path) -> Iterator[str]:
    image = tmp_path / "disk.img"
    with open(image, "wb") as f:
        f.truncate(320 * 1024 * 1024)
    device = subprocess.run(
        ["losetup", "--find", "--show", str(image)], check=True, capture_output=True, text=True
    ).stdout.strip()
    try:
        subprocess.run(["mkfs.xfs", "-q", device], check=True)
        yield device
    finally:
        for line in Path("/proc/self/mounts").read_text().splitlines():
            if line.split()[0] == device:
                subprocess.run(["umount", line.split()[1]], check=False)
        subprocess.run(["losetup", "-d", device], check=False)


def test_mount_unmount_are_idempotent_and_busy_is_reported(xfs_device: str, tmp_path: Path) -> None:
    mount_point = str(tmp_path / "drbd-fs")
    assert asyncio.run(filesystems.mount(xfs_device, mount_point, "xfs", (), 10)) is True
    assert filesystems.mounted_at(mount_point) == xfs_device
    assert asyncio.run(filesystems.mount(xfs_device, mount_point, "xfs", (), 10)) is False
    (Path(mount_point) / "data").write_text("hello")
    holder = subprocess.Popen(["sleep", "60"], cwd=mount_point)
    try:
        with pytest.raises(FilesystemError) as caught:
            asyncio.run(filesystems.unmount(mount_point, 10))
        assert caught.value.busy
        assert filesystems.holders(mount_point) == [holder.pid]
        assert filesystems.signal_holders(mount_point, signal.SIGTERM) == [holder.pid]
        holder.wait(5)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    assert asyncio.run(filesystems.unmount(mount_point, 10)) is True
    assert asyncio.run(filesystems.unmount(mount_point, 10)) is False
    assert Path(mount_point).is_dir()  # never removed
    clean = asyncio.run(filesystems.check_filesystem(xfs_device, "xfs", None, 60))
    assert clean.returncode == 0


def test_a_failing_check_is_an_error(tmp_path: Path) -> None:
    async def scenario() -> None:
        with pytest.raises(FilesystemError, match="exited 4"):
            await filesystems.check_filesystem("x", None, ["sh", "-c", "exit 4"], 5)
        with pytest.raises(FilesystemError, match="timed out"):
            await filesystems.run_command(["sleep", "5"], 0.2)

    asyncio.run(scenario())


def test_service_commands_start_check_stop(tmp_path: Path) -> None:
    pidfile = tmp_path / "svc.pid"
    service = ServiceCommands(
        start=f"sleep 60 >/dev/null 2>&1 & echo $! > {pidfile}",
        stop=f"kill $(cat {pidfile})",
        # Running means alive and not a zombie waiting to be reaped.
        check=f"[ \"$(cut -d' ' -f3 /proc/$(cat {pidfile})/stat 2>/dev/null)\" = S ]",
    )

    async def scenario() -> None:
        assert not await services.is_running(service, 5)
        await services.start(service, 5)
        assert await services.is_running(service, 5)
        await services.stop(service, 5)
        pid = int(pidfile.read_text())
        wait_for(lambda: _state(pid) in ("Z", "gone"), 3, "the service to end")
        assert not await services.is_running(service, 5)
        with pytest.raises(services.ServiceError):
            await services.start(ServiceCommands(start="exit 3"), 5)

    asyncio.run(scenario())


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return "gone"

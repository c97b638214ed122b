"""Small, full and failing filesystems for t/test_disk.py (root only).

- tmpfs(size): a size-limited tmpfs, for ENOSPC;
- ext4_loop(size): ext4 in a file on a loop device; shutdown() makes the
  kernel fail every later operation on it with EIO (EXT4_IOC_SHUTDOWN, the
  ioctl xfs_io's "shutdown" sends), and remount() brings it back;
- fill(dir, leave): a file that takes all free space but `leave` bytes.

The kernel here has no device-mapper and no fault injection (no dm-error,
no fail_make_request): the ext4 shutdown is the EIO injector.  Everything
mounted is unmounted and detached again, also when a test fails.
"""

import contextlib
import fcntl
import os
import shutil
import struct
import subprocess
import tempfile
import time
from pathlib import Path


EXT4_IOC_SHUTDOWN = 0x8004587D          # _IOR('X', 125, __u32)
EXT4_GOING_FLAGS_NOLOGFLUSH = 2


class Unavailable(Exception):
    """The sandbox cannot do it (not root, no loop device, ...)."""


def _run(cmd, timeout=60):
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    if p.returncode != 0:
        raise Unavailable("%s: %s" % (" ".join(cmd),
                                       (p.stderr + p.stdout).strip()))
    return p.stdout.strip()


def umount(mnt):
    """Unmount, retrying while a process still has a file open; lazily as
    the last resort, so that a failed test never leaves a mount behind."""

    for i in range(50):
        if not os.path.ismount(mnt):
            return True
        p = subprocess.run(["umount", str(mnt)], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=30)
        if p.returncode == 0:
            return True
        time.sleep(0.1)
    subprocess.run(["umount", "-l", str(mnt)], stdin=subprocess.DEVNULL,
                   capture_output=True, timeout=30)
    return False


@contextlib.contextmanager
def tmpfs(size="16m", prefix="blob-disk-"):
    if os.geteuid() != 0:
        raise Unavailable("not root: cannot mount a tmpfs")

    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    mnt = base / "mnt"
    mnt.mkdir()
    try:
        _run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size,
              "tmpfs", str(mnt)])
        yield mnt
    finally:
        umount(mnt)
        if not os.path.ismount(mnt):
            shutil.rmtree(base, ignore_errors=True)


class Ext4Loop:

    def __init__(self, size_mb=64, prefix="blob-eio-"):
        self.base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
        self.image = self.base / "fs.img"
        self.mnt = self.base / "mnt"
        self.mnt.mkdir()
        self.loop = None
        self.size_mb = size_mb

    def setup(self):
        if os.geteuid() != 0:
            raise Unavailable("not root: cannot attach a loop device")
        with open(self.image, "wb") as f:
            f.truncate(self.size_mb << 20)
        self.loop = _run(["losetup", "--find", "--show", str(self.image)])
        _run(["mkfs.ext4", "-q", "-F", "-E", "nodiscard", self.loop])
        self.mount()
        return self

    def mount(self):
        _run(["mount", "-t", "ext4", self.loop, str(self.mnt)])

    def shutdown(self):
        """From now on the filesystem answers EIO (its page cache still
        answers stat() and readdir() of what it holds)."""

        fd = os.open(self.mnt, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.ioctl(fd, EXT4_IOC_SHUTDOWN,
                        struct.pack("I", EXT4_GOING_FLAGS_NOLOGFLUSH))
        finally:
            os.close(fd)

    def remount(self):
        """Unmount the shut-down filesystem and mount it again (the journal
        is replayed): what an operator does after the device recovers."""

        if not umount(self.mnt):
            raise RuntimeError("%s is busy" % self.mnt)
        self.mount()

    def cleanup(self):
        umount(self.mnt)
        if self.loop:
            subprocess.run(["losetup", "-d", self.loop],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=30)
            self.loop = None
        if not os.path.ismount(self.mnt):
            shutil.rmtree(self.base, ignore_errors=True)


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(path, leave=0):
    """A file under path that takes the free space but `leave` bytes."""

    f = Path(path) / ("fill-%d" % time.monotonic_ns())
    size = max(0, free_bytes(path) - leave)
    with open(f, "wb") as fh:
        chunk = b"\0" * (1 << 20)
        while size > 0:
            n = min(size, len(chunk))
            try:
                fh.write(chunk[:n])
                fh.flush()
            except OSError:
                break
            size -= n
    return f

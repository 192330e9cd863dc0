"""Workers and threads are sized by what the container or host grants, read from fake cgroup and proc files."""

import os

import pytest

from app.config import (
    RESERVED_MB,
    WORKER_PEAK_MB,
    default_workers,
    granted_cores,
    granted_memory_mb,
)

GIB = 1024**3


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A fake /sys/fs/cgroup and /proc: 8 cores in the affinity mask, 16 GB of RAM, no limits yet."""
    cgroup, proc = tmp_path / "cgroup", tmp_path / "proc"
    (proc / "self").mkdir(parents=True)
    cgroup.mkdir()
    (proc / "meminfo").write_text("MemTotal:       16777216 kB\nMemFree:         1000000 kB\n")
    (proc / "self" / "cgroup").write_text("0::/\n")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))

    def write(relative, text):
        path = cgroup / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    host = type("Host", (), {})()
    host.write = write
    host.proc = proc
    host.cores = lambda: granted_cores(cgroup, proc)
    host.memory_mb = lambda: granted_memory_mb(cgroup, proc)
    return host


def test_without_limits_the_host_is_used(host):
    host.write("cpu.max", "max 100000\n")
    host.write("memory.max", "max\n")
    assert (host.cores(), host.memory_mb()) == (8, 16384)


@pytest.mark.parametrize("cpu_max, cores", [("200000 100000", 2), ("150000 100000", 2), ("50000 100000", 1)])
def test_a_cgroup_v2_cpu_quota_caps_the_cores_rounded_up(host, cpu_max, cores):
    host.write("cpu.max", cpu_max)
    assert host.cores() == cores


def test_a_cgroup_v2_memory_limit_caps_the_memory(host):
    host.write("memory.max", str(4 * GIB))
    assert host.memory_mb() == 4096


def test_the_limits_of_the_process_own_cgroup_are_read(host):
    """Under systemd the service's limits sit in its own slice, not at the mount's root."""
    (host.proc / "self" / "cgroup").write_text("0::/system.slice/ocr.service\n")
    host.write("system.slice/ocr.service/cpu.max", "300000 100000")
    host.write("system.slice/ocr.service/memory.max", str(3 * GIB))
    assert (host.cores(), host.memory_mb()) == (3, 3072)


def test_cgroup_v1_quota_and_limit_are_read(host):
    host.write("cpu/cpu.cfs_quota_us", "400000")
    host.write("cpu/cpu.cfs_period_us", "100000")
    host.write("memory/memory.limit_in_bytes", str(6 * GIB))
    assert (host.cores(), host.memory_mb()) == (4, 6144)


def test_cgroup_v1_no_limit_markers_leave_the_host(host):
    host.write("cpu/cpu.cfs_quota_us", "-1")
    host.write("cpu/cpu.cfs_period_us", "100000")
    host.write("memory/memory.limit_in_bytes", "9223372036854771712")
    assert (host.cores(), host.memory_mb()) == (8, 16384)


def test_the_affinity_mask_caps_a_larger_quota(host, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    host.write("cpu.max", "800000 100000")
    assert host.cores() == 2


@pytest.mark.parametrize(
    "cores, memory_mb, workers",
    [
        (2, 24 * 1024, 2),  # this machine: one worker per core
        (16, 64 * 1024, 16),  # cores bound
        (16, 4 * 1024, 2),  # memory bound: (4096 - 256) // 1536
        (4, 1024, 1),  # never fewer than one
        (1, 8 * 1024, 1),
        (4, None, 4),  # memory unknown: by cores
    ],
)
def test_workers_are_one_per_core_as_many_as_memory_holds(cores, memory_mb, workers):
    assert default_workers(cores, memory_mb) == workers


def test_a_container_limit_sizes_the_workers(host):
    """--cpus=8 --memory=4g on a bigger host: memory, not the host's RAM, bounds the workers."""
    host.write("cpu.max", "800000 100000")
    host.write("memory.max", str(4 * GIB))
    assert default_workers(host.cores(), host.memory_mb()) == (4096 - RESERVED_MB) // WORKER_PEAK_MB

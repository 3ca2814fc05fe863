"""CPU features, the NVIDIA driver and GPU devices, and the CUDA libraries a machine makes visible.

Every reader takes a :class:`~dllmagic.facts.system.System` and reads files only through it, so a test
describes a GPU machine with files under a ``System.model`` root (``/proc/driver/nvidia/version``,
``/proc/cpuinfo``, ``libcudart.so.12`` in a site-packages folder ...). The parsers are pure functions of
text; the readers are small and return None (or an empty answer) where the machine does not say.
Nothing here loads a library, runs nvidia-smi or imports a GPU framework.
"""
from __future__ import annotations

import re
from typing import FrozenSet, List, Optional, Sequence, Tuple

from .._record import Record
from .system import System

__all__ = [
    "CpuFacts", "DriverFacts", "GpuDevice", "VisibleLibrary",
    "parse_cpuinfo", "parse_driver_version", "cpu_facts", "nvidia_driver", "gpu_devices",
    "visible_cuda_libraries", "driver_version_from_cuda_int",
]

_NVIDIA_VERSION_FILE = "/proc/driver/nvidia/version"
_NVIDIA_GPUS = "/proc/driver/nvidia/gpus"

#: Folders a Linux machine commonly keeps the driver's libcuda.so.1 in (distribution packages, the NVIDIA
#: .run installer, WSL2, the CUDA forward-compatibility package).
_DRIVER_FOLDERS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
                   "/usr/lib/wsl/lib", "/usr/local/cuda/compat")
#: Folders a CUDA toolkit or cuDNN install leaves its libraries in.
_TOOLKIT_FOLDERS = ("/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib",
                    "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/opt/cuda/lib64")


class CpuFacts(Record):
    flags: FrozenSet[str]
    model: str
    source: str

    def has(self, feature: str) -> bool:
        return feature.lower() in self.flags


class DriverFacts(Record):
    version: str
    source: str


class GpuDevice(Record):
    model: str
    source: str


class VisibleLibrary(Record):
    path: str
    component: str        # "CUDA runtime", "cuDNN" ... from knowledge/cuda_libraries.json
    version: str          # "12.x", "8.x", "10.1"
    entry_id: str
    how: str              # where it was seen: "LD_LIBRARY_PATH", "pip package nvidia-*", "CUDA toolkit folder"


# -- pure parsers ------------------------------------------------------------------------------------
def parse_cpuinfo(text: str) -> Tuple[FrozenSet[str], str]:
    """(flags, model name) of the first processor in a /proc/cpuinfo text (x86 'flags', ARM 'Features')."""
    flags: FrozenSet[str] = frozenset()
    model = ""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip().lower()
        if key in ("flags", "features") and not flags:
            flags = frozenset(value.lower().split())
        elif key in ("model name", "cpu model", "hardware") and not model:
            model = value.strip()
        if flags and model:
            break
    return flags, model


def parse_driver_version(text: str) -> Optional[str]:
    """The driver version in /proc/driver/nvidia/version ('NVRM version: NVIDIA UNIX x86_64 Kernel Module
    535.54.03 ...'), or in a libcuda file name (libcuda.so.535.54.03)."""
    match = re.search(r"Kernel Module(?:\s+for\s+\w+)?\s+(\d+\.\d+(?:\.\d+)?)", text)
    if match:
        return match.group(1)
    match = re.search(r"libcuda\.so\.(\d{3,}\.\d+(?:\.\d+)?)$", text)
    return match.group(1) if match else None


def driver_version_from_cuda_int(value: int) -> str:
    """cudaDriverGetVersion's integer as a CUDA version: 10010 → '10.1', 12040 → '12.4'."""
    return f"{value // 1000}.{(value % 1000) // 10}"


# -- readers ------------------------------------------------------------------------------------------
def cpu_facts(system: System) -> Optional[CpuFacts]:
    """The CPU's feature flags, where the machine states them (Linux: /proc/cpuinfo); None elsewhere."""
    if system.platform != "linux":
        return None
    try:
        text = system.read_text("/proc/cpuinfo", limit=1 << 20)
    except OSError:
        return None
    flags, model = parse_cpuinfo(text)
    if not flags:
        return None
    return CpuFacts(flags=flags, model=model, source="/proc/cpuinfo")


def nvidia_driver(system: System) -> Optional[DriverFacts]:
    """The NVIDIA driver's version: the kernel module's /proc file, else the libcuda.so.VERSION file."""
    if system.platform != "linux":
        if system.platform == "windows":
            root = system.getenv("SystemRoot") or "C:\\Windows"
            path = system.join(root, "System32", "nvcuda.dll")
            if system.is_file(path):
                return DriverFacts(version="installed (version not read)", source=path)
        return None
    try:
        version = parse_driver_version(system.read_text(_NVIDIA_VERSION_FILE, limit=8192))
    except OSError:
        version = None
    if version:
        return DriverFacts(version=version, source=_NVIDIA_VERSION_FILE)
    for folder in _DRIVER_FOLDERS:
        for name in system.listdir(folder):
            if name.startswith("libcuda.so."):
                version = parse_driver_version(name)
                if version:
                    return DriverFacts(version=version, source=system.join(folder, name))
    for folder in _DRIVER_FOLDERS:
        if system.is_file(system.join(folder, "libcuda.so.1")):
            return DriverFacts(version="installed (version not read)", source=system.join(folder, "libcuda.so.1"))
    return None


def gpu_devices(system: System) -> List[GpuDevice]:
    """NVIDIA GPUs the kernel module lists (/proc/driver/nvidia/gpus/*/information)."""
    out = []
    for bus in sorted(system.listdir(_NVIDIA_GPUS)):
        path = system.join(_NVIDIA_GPUS, bus, "information")
        try:
            text = system.read_text(path, limit=8192)
        except OSError:
            continue
        match = re.search(r"^Model:\s*(.+)$", text, re.MULTILINE)
        out.append(GpuDevice(model=match.group(1).strip() if match else "NVIDIA GPU", source=path))
    return out


def visible_cuda_libraries(system: System, site_folders: Sequence[str] = (),
                           prefix: Optional[str] = None) -> List[VisibleLibrary]:
    """CUDA runtime, cuDNN, cuBLAS ... files the machine offers: LD_LIBRARY_PATH / PATH folders, the pip
    ``nvidia-*`` wheels in site-packages, the conda environment's lib, the toolkit's usual folders."""
    from ..knowledge.tables import cuda_library

    places: List[Tuple[str, str]] = []
    var = "PATH" if system.platform == "windows" else "LD_LIBRARY_PATH"
    for folder in (system.getenv(var) or "").split(system.pathsep):
        if folder:
            places.append((folder, var))
    for site in site_folders:
        nvidia = system.join(site, "nvidia")
        for sub in sorted(system.listdir(nvidia)):
            for leaf in ("lib", "bin"):
                places.append((system.join(nvidia, sub, leaf), f"pip package nvidia-{sub}"))
    if prefix:
        places.append((system.join(prefix, "Library", "bin") if system.platform == "windows"
                       else system.join(prefix, "lib"), "the environment's own library folder"))
    cuda_home = system.getenv("CUDA_HOME") or system.getenv("CUDA_PATH")
    if cuda_home:
        places.append((system.join(cuda_home, "bin" if system.platform == "windows" else "lib64"),
                       "CUDA_HOME / CUDA_PATH"))
    if system.platform == "linux":
        places.extend((folder, "CUDA toolkit / system folder") for folder in _TOOLKIT_FOLDERS)
    seen = set()
    out: List[VisibleLibrary] = []
    for folder, how in places:
        for name in sorted(system.listdir(folder)):
            entry = cuda_library(name)
            if entry is None or entry.get("driver"):
                continue
            path = system.join(folder, name)
            if path in seen:
                continue
            seen.add(path)
            out.append(VisibleLibrary(path=path, component=entry["component"], version=entry["version"],
                                      entry_id=entry["id"], how=how))
    return out

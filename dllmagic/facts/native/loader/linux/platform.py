"""$PLATFORM and the hwcap subfolders, taken the way glibc's ld.so takes them.

Live (the machine this runs on, its own program interpreter): the real loader is asked.
``ld.so --list-diagnostics`` (glibc >= 2.33) prints ``dl_platform`` (the AT_PLATFORM value after glibc's
own rule), the glibc version and the glibc-hwcaps subfolders; ``ld.so --help`` marks the subfolders it
searches "supported, searched", the legacy hwcap ones (glibc < 2.37) included.

Modelled (or an older glibc): from the machine's own files - the CPU in its ``/proc/cpuinfo`` and the
glibc version in its ld.so - by glibc's rule (sysdeps/x86/cpu-features.c before 2.37): on an Intel
x86-64 CPU, "xeon_phi" with AVX512ER+PF, else "haswell" with AVX2, FMA, BMI1, BMI2, LZCNT, MOVBE and
POPCNT; "avx512_1" is an important hwcap on an Intel CPU with AVX512F/CD/BW/DQ/VL. Every other CPU keeps
the kernel's AT_PLATFORM (the architecture name).

Legacy subfolders (glibc < 2.37): every combination of "tls", the platform and the important hwcap
names, longest first (elf/dl-hwcaps.c ``_dl_important_hwcaps``): on this kind of machine
``tls/x86_64/x86_64``, ``tls/x86_64``, ``tls``, ``x86_64/x86_64``, ``x86_64`` before the folder itself.
"""
from __future__ import annotations

import os
import re
import stat
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, Optional, Sequence, Set, Tuple

#: The kernel's AT_PLATFORM by machine (what glibc keeps unless its own rule changes it).
KERNEL_PLATFORM = {"x86_64": "x86_64", "i386": "i686", "aarch64": "aarch64", "arm": "v7l",
                   "ppc64": "power9", "s390x": "z13", "riscv": "riscv64"}
_HASWELL = {"avx2", "fma", "bmi1", "bmi2", "abm", "movbe", "popcnt"}   # abm: LZCNT in /proc/cpuinfo
_AVX512_1 = {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"}
_XEON_PHI = {"avx512f", "avx512cd", "avx512er", "avx512pf"}
#: Legacy hwcaps stopped at this glibc version (2.37 removed them).
LEGACY_UNTIL = (2, 37)
_ANSWERS: Dict[Tuple[str, int, int], Optional[dict]] = {}


class PlatformFacts:
    """What the loader of one machine uses: $PLATFORM, glibc-hwcaps levels, legacy subfolders."""

    __slots__ = ("platform", "hwcaps", "legacy", "source", "note")

    def __init__(self, platform: str, hwcaps: Optional[Tuple[str, ...]], legacy: Tuple[str, ...],
                 source: str, note: Optional[str] = None) -> None:
        self.platform = platform
        #: None: not known from the loader (the CPU flags decide, see LinuxLoader.hwcaps_for).
        self.hwcaps = hwcaps
        self.legacy = legacy
        self.source = source
        self.note = note


def legacy_subfolders(names: Sequence[str]) -> Tuple[str, ...]:
    """Every combination of ``names`` (in their order), longest first, as glibc searches them."""
    out = []
    n = len(names)
    for mask in range((1 << n) - 1, 0, -1):
        out.append("/".join(names[i] for i in range(n) if mask & (1 << (n - 1 - i))))
    return tuple(dict.fromkeys(out))


def cpu_of(text: str) -> Tuple[str, Set[str]]:
    """(vendor_id, flags) of the first CPU in a /proc/cpuinfo text."""
    vendor, flags = "", set()
    for line in text.splitlines():
        if line.startswith("vendor_id") and not vendor:
            vendor = line.split(":", 1)[-1].strip()
        elif line.startswith("flags") and not flags:
            flags = set(line.split(":", 1)[-1].split())
        if vendor and flags:
            break
    return vendor, flags


def glibc_rule(machine: str, bits: int, vendor: str, flags: Set[str]) -> Tuple[str, Tuple[str, ...]]:
    """($PLATFORM, important hwcap names) by glibc's rule before 2.37 for this CPU."""
    platform = KERNEL_PLATFORM.get(machine, machine)
    if machine != "x86_64" or bits != 64:
        return platform, ()
    important = ["x86_64"]
    if vendor == "GenuineIntel":
        if _XEON_PHI <= flags:
            platform = "xeon_phi"
        else:
            if _AVX512_1 <= flags:
                important.insert(0, "avx512_1")
            if _HASWELL <= flags:
                platform = "haswell"
    return platform, tuple(important)


def glibc_version(data: bytes) -> Optional[Tuple[int, int]]:
    """The glibc version an ld.so (or libc.so.6) states in its own bytes."""
    m = re.search(rb"(?:release version|GLIBC) (\d+)\.(\d+)", data)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _trusted(path: str) -> Optional[str]:
    """The real path of a program interpreter that may be run: a regular file in a system folder,
    owned by root and writable by nobody else. Never a path only the analysed file names."""
    real = os.path.realpath(path)
    if not real.startswith(("/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/", "/lib32/", "/usr/lib32/")):
        return None
    try:
        st = os.stat(real)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o022:
        return None
    return real


def ask_loader(interp: str) -> Optional[dict]:
    """What the live loader ``interp`` says about itself (glibc >= 2.33), or None. Remembered, and
    kept between runs in the facts store (see :func:`_loader_words`)."""
    real = _trusted(interp)
    if real is None:
        return None
    st = os.stat(real)
    key = (real, st.st_ino, int(st.st_mtime))
    if key in _ANSWERS:
        return _ANSWERS[key]
    words = _loader_words(real, st)
    answer = parse_loader_answer(*words) if words is not None else None
    _ANSWERS[key] = answer
    return answer


def _loader_words(real: str, st) -> Optional[Tuple[str, str]]:
    """(``ld.so --list-diagnostics``, ``ld.so --help``) of the trusted loader ``real``, or None.

    What the loader says depends on its file, the CPU and the kernel: with the facts store on, the two
    texts are kept under the loader's stamp, the CPU's vendor and flags and the kernel's release, and
    used while all three are as they were (two processes less for every run)."""
    from ... import factstore

    store = factstore.active()
    kept = store.loader_words() if store is not None else None
    setting = _cpu_and_kernel() if kept is not None else None
    if kept is not None:
        words = kept.get(real, st, setting)
        if words is not None:
            return words
    import subprocess

    # The two questions are asked at once (two short processes side by side: the wait is the longer one's).
    children: list = []
    try:
        for question in ("--list-diagnostics", "--help"):
            children.append(subprocess.Popen([real, question], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                             stderr=subprocess.PIPE, env={"LC_ALL": "C"}))
        said = [child.communicate(timeout=5)[0] for child in children]
    except (OSError, subprocess.SubprocessError):
        for child in children:
            child.kill()
            child.wait()
        return None
    if any(child.returncode != 0 for child in children):
        return None
    words = (said[0].decode("utf-8", "replace"), said[1].decode("utf-8", "replace"))
    if kept is not None:
        kept.put(real, st, setting, words)
    return words


def _cpu_and_kernel() -> str:
    """The first CPU's vendor and flags lines (/proc/cpuinfo) and the kernel's release, as one text."""
    head = b""
    try:
        fd = os.open("/proc/cpuinfo", os.O_RDONLY)
        try:
            while len(head) < 1 << 16:  # the first CPU's lines come first
                chunk = os.read(fd, 1 << 14)
                if not chunk:
                    break
                head += chunk
                if b"\nflags" in head and b"\n" in head[head.index(b"\nflags") + 1:]:
                    break
        finally:
            os.close(fd)
    except OSError:
        pass
    vendor, flags = cpu_of(head.decode("ascii", "replace"))
    return f"{vendor}\n{' '.join(sorted(flags))}\n{os.uname().release}"


def parse_loader_answer(diagnostics: str, helptext: str) -> Optional[dict]:
    """{platform, version, hwcaps, legacy} from ``ld.so --list-diagnostics`` and ``ld.so --help``."""
    m = re.search(r'^dl_platform="([^"\n]*)"', diagnostics, re.M)
    v = re.search(r'^version\.version="(\d+)\.(\d+)', diagnostics, re.M)
    if m is None:
        return None
    section = None
    hwcaps, legacy = [], []
    tls = platform_searched = False
    for line in helptext.splitlines():
        if line.startswith("Subdirectories of glibc-hwcaps"):
            section = hwcaps
            continue
        if line.startswith("Legacy HWCAP subdirectories"):
            section = legacy
            continue
        if not line.startswith("  "):
            section = None
            continue
        if section is None:
            continue
        word, _, rest = line.strip().partition(" ")
        if "searched" not in rest:
            continue
        if section is legacy and "AT_PLATFORM" in rest:
            platform_searched = True
        elif section is legacy and word == "tls":
            tls = True
        else:
            section.append(word)
    platform = m.group(1)
    names = (["tls"] if tls else []) + ([platform] if platform_searched and platform else []) + legacy
    return {"platform": platform, "version": (int(v.group(1)), int(v.group(2))) if v else None,
            "hwcaps": tuple(hwcaps), "legacy": legacy_subfolders(names) if names else ()}

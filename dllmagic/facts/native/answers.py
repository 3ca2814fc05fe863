"""Whole answers of ``deps`` kept between runs, each with every path and setting it was made from.

A run of ``deps`` on the live machine with the store on (the default) notes every path it looks at:
each folder walked and each file whose magic it read, each file read or probed for a library (found
or not), each folder tested, the program interpreter, /etc/ld.so.cache and /etc/ld.so.preload, the
real path of python, the CPU's vendor and flags, and dllmagic's own modules. At its end the answer
(the exact output and the exit status) is kept with the stat stamp of each path: device, inode, size,
modification and change times (as the run saw them when it looked, where it stat'ed the path itself),
or the error the path gave (a library that was not there). It is
keyed by the exact command line, the current folder, the interpreter running dllmagic and the whole
environment: any other key is another answer.

A later run with the same key stats those paths again. Only when every stamp is as it was (a folder's
stamp changes with any name added, removed or renamed in it; a file's with any write, chmod, chown or
replacement) does it print the kept answer, without reading or resolving anything; otherwise it runs
as usual (``--no-cache`` always does). An answer is not kept when any path it depends on changed
less than two seconds before the run began (a stamp could repeat within one clock tick), nor when
the run was not on the live machine (``--root``, ``--machine``, wheels).

The answers are files of their own beside the facts store (``deps-answers/``), the :data:`KEEP`
last made or used kept. Each is read as untrusted data: a first line names the format, dllmagic's
version, the lengths of the three parts and their CRC-32; the key must match byte for byte. Anything
amiss makes the run compute the answer again. Nothing here raises.

This module is imported first by ``deps``: it imports nothing beyond os, sys and zlib.
"""
from __future__ import annotations

import os
import sys
import zlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, Optional, Tuple

__all__ = ["start", "note", "note_realpath", "note_cpu", "noted", "absorb", "stop", "replay", "keep"]

FORMAT = 1
MAGIC = b"dllmagic-deps-answer"
FOLDER = "deps-answers"
#: How many answers are kept (the newest; each is the size of its output, up to a few MB).
KEEP = 12
#: An answer longer than this is not kept.
MAX_BYTES = 64 << 20
#: Paths that changed less than this long before the run began make its answer not kept.
SETTLE_NS = 2_000_000_000
CPUINFO = "/proc/cpuinfo"

#: What this run looked at (None: nothing is noted): ("s", host path) stat, ("r", path) real path,
#: ("c", CPUINFO) the CPU's vendor and flags.
_NOTED: Optional[set] = None


# -- noting what a run looks at ---------------------------------------------------------------------

#: host path -> the stat result the run took of it when it first looked (kept as its stamp: the state
#: the answer was made from; a later change makes the stamps differ, as it should).
_STATS: dict = {}


def start() -> None:
    global _NOTED
    _NOTED = set()
    _STATS.clear()


def stop() -> None:
    global _NOTED
    _NOTED = None
    _STATS.clear()


def note(host: str, st=None) -> None:
    """The answer depends on what stat says of ``host`` (a host path; followed if a link); ``st``:
    what stat said when the run looked at it, if it did (else it is stat'ed when the answer is kept)."""
    if _NOTED is not None:
        _NOTED.add(("s", host))
        if st is not None:
            _STATS.setdefault(host, st)


def note_realpath(host: str) -> None:
    """The answer depends on where ``host``'s links lead."""
    if _NOTED is not None:
        _NOTED.add(("r", host))


def note_cpu() -> None:
    """The answer depends on the CPU's vendor and flags."""
    if _NOTED is not None:
        _NOTED.add(("c", CPUINFO))


def noted() -> list:
    """What this process noted, as plain data (what a forked worker hands back)."""
    return [list(item) for item in _NOTED] if _NOTED is not None else []


def absorb(items) -> None:
    """What a forked worker noted (see :func:`noted`)."""
    if _NOTED is None or not isinstance(items, list):
        return
    for item in items:
        if isinstance(item, list) and len(item) == 2 and item[0] in ("s", "r", "c") and type(item[1]) is str:
            _NOTED.add((item[0], item[1]))


# -- the state of a path, as kept and as checked ----------------------------------------------------

def _state(kind: str, path: str) -> Tuple[str, int]:
    """(the state of ``path`` as text, the latest change time it shows in ns, 0 if none)."""
    if kind == "s":
        try:
            st = os.stat(path)
        except OSError as exc:
            return f"E{exc.errno}", 0
        return (f"{st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns}",
                max(st.st_mtime_ns, st.st_ctime_ns))
    if kind == "r":
        try:
            return os.path.realpath(path), 0
        except (OSError, ValueError):
            return "", 0
    return _cpu(path), 0


def _cpu(path: str) -> str:
    """The first vendor_id and flags lines of the CPU description (what the loader model reads)."""
    try:
        with open(path, "rb") as fh:
            text = fh.read(1 << 20)
    except OSError:
        return ""
    vendor = flags = b""
    for line in text.splitlines():
        if not vendor and line.startswith(b"vendor_id"):
            vendor = line
        elif not flags and line.startswith(b"flags"):
            flags = line
        if vendor and flags:
            break
    return (vendor + b"\n" + flags).decode("ascii", "replace")


# -- the key -----------------------------------------------------------------------------------------

def key_of(argv: List[str]) -> bytes:
    """Everything besides the noted paths that an answer depends on: the command line, the current
    folder, the interpreter and its version, the environment, dllmagic's version."""
    from ... import __version__

    try:
        cwd = os.getcwd()
    except OSError:
        cwd = ""
    parts = ["deps", __version__, sys.executable, sys.version, cwd, str(len(argv)), *argv]
    # All of the environment but "_", where a shell puts the path of the command it runs.
    parts += sorted(f"{k}={v}" for k, v in os.environ.items() if k != "_")
    # Each part with its length: no two different lists give the same key.
    return "".join(f"{len(p)}:{p}" for p in parts).encode("utf-8", "surrogateescape")


def _file_of(folder: str, key: bytes) -> str:
    return os.path.join(folder, FOLDER, "%08x%08x" % (zlib.crc32(key), zlib.adler32(key)))


# -- replay --------------------------------------------------------------------------------------------

def replay(folder: str, argv: List[str]) -> Optional[Tuple[str, int]]:
    """(output, exit status) of the kept answer for ``argv``, when every path it depends on is as it
    was; else None."""
    try:
        key = key_of(argv)
        path = _file_of(folder, key)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (OSError, ValueError):
        return None
    try:
        import stat

        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES + (1 << 20):
            return None
        data = b""
        while True:
            chunk = os.read(fd, info.st_size + 1 - len(data))
            if not chunk:
                break
            data += chunk
    except OSError:
        return None
    finally:
        os.close(fd)
    got = _parse_and_check(data, key)
    if got is not None:
        try:  # used: the last to go when answers are pruned
            os.utime(path)
        except OSError:
            pass
    return got


def _parse_and_check(data: bytes, key: bytes) -> Optional[Tuple[str, int]]:
    from ... import __version__

    head, sep, body = data.partition(b"\n")
    parts = head.split(b" ")
    if not sep or len(parts) != 8 or parts[0] != MAGIC or parts[1] != str(FORMAT).encode() \
            or parts[2] != __version__.encode("utf-8", "replace"):
        return None
    try:
        key_len, meta_len, out_len, status, crc = (int(parts[3]), int(parts[4]), int(parts[5]),
                                                   int(parts[6]), int(parts[7], 16))
    except ValueError:
        return None
    if key_len + meta_len + out_len != len(body) or zlib.crc32(body) != crc or body[:key_len] != key:
        return None
    try:
        fields = body[key_len:key_len + meta_len].decode("utf-8", "surrogateescape").split("\0")
        output = body[key_len + meta_len:].decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return None
    if len(fields) % 3 != 1 or fields[-1] != "":
        return None
    stat = os.stat
    for i in range(0, len(fields) - 1, 3):
        kind, path, was = fields[i], fields[i + 1], fields[i + 2]
        if kind == "s":  # the common case, inline: a run depends on thousands of paths
            try:
                st = stat(path)
            except OSError as exc:
                now = f"E{exc.errno}"
            else:
                now = f"{st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns}"
        elif kind in ("r", "c"):
            now = _state(kind, path)[0]
        else:
            return None
        if now != was:
            return None
    return output, status


# -- keeping ---------------------------------------------------------------------------------------

def keep(folder: str, argv: List[str], output: str, status: int, began_ns: int) -> bool:
    """Keep this run's answer (see the module's text); False when it is not kept."""
    import time

    if _NOTED is None:
        return False
    items = sorted(_NOTED)
    # The modules that made the answer: a changed dllmagic must not replay an older one's answer.
    for name, module in list(sys.modules.items()):
        if name == "dllmagic" or name.startswith("dllmagic."):
            where = getattr(module, "__file__", None)
            if where:
                items.append(("s", where))
    fields = []
    settled = began_ns - SETTLE_NS
    for kind, path in items:
        if "\0" in path:
            return False
        st = _STATS.get(path) if kind == "s" else None
        if st is not None:
            state = f"{st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns}"
            changed = max(st.st_mtime_ns, st.st_ctime_ns)
        else:
            state, changed = _state(kind, path)
        if changed >= settled:
            return False
        fields += (kind, path, state)
    try:
        key = key_of(argv)
        meta = ("\0".join(fields) + "\0").encode("utf-8", "surrogateescape")
        out = output.encode("utf-8", "surrogatepass")
    except (UnicodeError, ValueError):
        return False
    if len(out) > MAX_BYTES:
        return False
    body = key + meta + out
    head = b" ".join((MAGIC, str(FORMAT).encode(), _version_bytes(), str(len(key)).encode(),
                      str(len(meta)).encode(), str(len(out)).encode(), str(int(status)).encode(),
                      b"%08x" % zlib.crc32(body)))
    path = _file_of(folder, key)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(head + b"\n" + body)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
    _prune(os.path.dirname(path), time.time())
    return True


def _version_bytes() -> bytes:
    from ... import __version__

    return __version__.encode("utf-8", "replace")


def _prune(where: str, now: float) -> None:
    """Only the :data:`KEEP` answers last made or used stay (and no temporary file older than an hour)."""
    try:
        entries = []
        with os.scandir(where) as it:
            for entry in it:
                st = entry.stat(follow_symlinks=False)
                if entry.name.endswith(".tmp"):
                    if now - st.st_mtime > 3600:
                        os.unlink(entry.path)
                    continue
                entries.append((st.st_mtime_ns, entry.path))
        for _mtime, old in sorted(entries, reverse=True)[KEEP:]:
            os.unlink(old)
    except OSError:
        pass

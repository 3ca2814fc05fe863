"""Will this wheel load on a clean machine, and what must be there first?

:func:`check_wheel` reads a wheel (a zip) without installing it: the platform tag names the stock machine
(a manylinux/musllinux policy, a clean Windows 10/11, a macOS release, see ``stock.py``); the wheel's
native files and Python sources are unpacked into a temporary folder where that machine's interpreter
would install them, and every extension module is resolved there by the loader model of that platform,
as ``import`` would load it. What is missing gets what provides it (``library_providers.json``).

Reading budgets: a wheel is untrusted input. At most :data:`MAX_ENTRIES` entries are looked at and at
most :data:`MAX_BYTES` bytes unpacked (:data:`MAX_ENTRY_BYTES` for one file); an entry that expands more
than :data:`MAX_RATIO` times is not unpacked (a zip bomb), nor is a name that would leave the folder
(``..``, absolute paths, drive letters) or a symbolic link. Whatever was left out is said, and a check
that could not see every extension module is never "ok".
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from typing import Dict, List, Optional, Tuple

from .stock import LINUX_ARCHES, WINDOWS_ARCHES, StockSpec, linux_policy, stock_machine, vc_redist_names

__all__ = ["WheelError", "WheelCheck", "check_wheel", "wheel_tags", "stock_specs", "MAX_ENTRIES", "MAX_BYTES",
           "MAX_ENTRY_BYTES", "MAX_RATIO"]

#: Entries of the zip looked at; the rest is not read (a real wheel of torch has about 15 000).
MAX_ENTRIES = 200_000
#: Bytes unpacked in all (native files and Python sources only; data files are never unpacked).
MAX_BYTES = 8 << 30
#: Bytes unpacked for one entry.
MAX_ENTRY_BYTES = 4 << 30
#: An entry larger than 16 MiB that expands more than this many times is not unpacked.
MAX_RATIO = 200
#: Python sources (``__init__.py``, ``_distributor_init.py`` ... where DLL folders are added) larger than
#: this are not unpacked.
MAX_SOURCE_BYTES = 1 << 20

_NATIVE = re.compile(r"(?i)\.(so|pyd|dll|dylib)$|\.so\.\d")


class WheelError(ValueError):
    """A file that cannot be checked as a wheel, with a sentence saying why."""


# -- tags --------------------------------------------------------------------------------------------

def wheel_tags(filename: str) -> Tuple[str, str, List[str], List[str], List[str]]:
    """(distribution, version, python tags, abi tags, platform tags) from a wheel's file name (PEP 427)."""
    base = os.path.basename(filename)
    if not base.endswith(".whl"):
        raise WheelError(f"{base}: not a wheel file name (NAME-VERSION-PY-ABI-PLATFORM.whl)")
    parts = base[:-4].split("-")
    if len(parts) not in (5, 6):
        raise WheelError(f"{base}: not a wheel file name (NAME-VERSION[-BUILD]-PY-ABI-PLATFORM.whl)")
    dist, version = parts[0], parts[1]
    py, abi, plat = parts[-3], parts[-2], parts[-1]
    return dist, version, py.split("."), abi.split("."), plat.split(".")


def _python_of(py_tags: List[str], abi_tags: List[str]) -> Tuple[Tuple[int, int], Optional[str]]:
    """The interpreter version the stock machine runs, and a note when it was chosen rather than read."""
    versions = []
    for tag in py_tags:
        m = re.match(r"^(?:cp|pp|py)(\d)(\d+)$", tag)
        if m:
            versions.append((int(m.group(1)), int(m.group(2))))
    if versions:
        chosen = min(versions)
        if "abi3" in abi_tags:
            return chosen, f"abi3 wheel: Python {chosen[0]}.{chosen[1]}, the oldest it names, is modelled"
        return chosen, None
    return (3, 12), "the python tag names no version: Python 3.12 is modelled"


def stock_specs(platform_tags: List[str], python: Tuple[int, int]) -> Tuple[List[StockSpec], List[str]]:
    """The stock machines a wheel's platform tags promise to load on (one per CPU: the oldest baseline
    the tags name), and notes on what was chosen."""
    notes: List[str] = []
    linux: Dict[str, Tuple[tuple, StockSpec]] = {}
    mac: Dict[str, Tuple[tuple, StockSpec]] = {}
    out: List[StockSpec] = []
    for tag in platform_tags:
        m = re.match(r"^(manylinux1|manylinux2010|manylinux2014|manylinux_\d+_\d+|musllinux_\d+_\d+)_(.+)$", tag)
        if m:
            policy_name, arch = m.group(1), m.group(2)
            entry, limit, note = linux_policy(policy_name)
            if entry is None or arch not in LINUX_ARCHES:
                notes.append(f"{tag}: no stock machine for this policy or CPU in the tables")
                continue
            if note:
                notes.append(note)
            if LINUX_ARCHES[arch][0] not in entry["symbol_versions"]:
                notes.append(f"{tag}: the policy {entry['policy']} defines no {arch} machine")
                continue
            _a, machine, bits, _m = LINUX_ARCHES[arch]
            order = (entry["libc"], limit or (0,))
            spec = StockSpec("linux", machine, bits, entry["policy"] if limit is None or note is None
                             else policy_name, python=python, tag=tag, glibc_limit=limit if note else None,
                             policy_arch=arch)
            key = f"{entry['libc']}-{arch}"
            if key not in linux or order < linux[key][0]:
                linux[key] = (order, spec)
            continue
        if tag in WINDOWS_ARCHES:
            machine, bits = WINDOWS_ARCHES[tag]
            out.append(StockSpec("windows", machine, bits, "windows-10", python=python, tag=tag))
            continue
        m = re.match(r"^macosx_(\d+)_(\d+)_(\w+)$", tag)
        if m:
            version = (int(m.group(1)), int(m.group(2)))
            arch = m.group(3)
            cpus = {"x86_64": ["x86_64"], "arm64": ["arm64"], "universal2": ["x86_64", "arm64"],
                    "intel": ["i386", "x86_64"], "i386": ["i386"]}.get(arch)
            if cpus is None:
                notes.append(f"{tag}: no stock machine for the CPU {arch}")
                continue
            for cpu in cpus:
                # Macs with Apple silicon start at macOS 11.
                v = max(version, (11, 0)) if cpu == "arm64" else version
                spec = StockSpec("macos", cpu, 64 if cpu != "i386" else 32, f"{v[0]}.{v[1]}", python=python, tag=tag)
                if cpu not in mac or v < mac[cpu][0]:
                    mac[cpu] = (v, spec)
            continue
        if tag == "any":
            continue
        notes.append(f"{tag}: this platform tag promises no baseline machine (linux_*: a local build); "
                     "--tag manylinux_2_28_x86_64 (or another) picks one")
    out.extend(spec for _o, spec in linux.values())
    out.extend(spec for _o, spec in mac.values())
    return out, notes


# -- reading the zip ---------------------------------------------------------------------------------

class _Unpacked:
    def __init__(self) -> None:
        self.natives: List[str] = []      # wheel-relative paths of native files unpacked
        self.skipped: List[str] = []      # what was left out, and why
        self.entries = 0
        self.bytes = 0
        self.complete = True              # every native file was unpacked


def _safe_parts(name: str) -> Optional[List[str]]:
    """The components of a zip entry name, or None when it would leave the folder or is not plain."""
    if not name or "\\" in name or "\0" in name or name.startswith("/"):
        return None
    parts = name.split("/")
    if parts[-1] == "":
        parts = parts[:-1]
    if not parts or any(p in ("", ".", "..") or ":" in p or any(ord(c) < 32 for c in p) for p in parts):
        return None
    return parts


def _install_parts(parts: List[str], dist_data: str) -> Optional[Tuple[str, List[str]]]:
    """(scheme, path in it) of a wheel entry: "purelib"/"platlib" files land in site-packages."""
    if parts[0] == dist_data and len(parts) > 2:
        scheme = parts[1]
        if scheme in ("purelib", "platlib"):
            return "site", parts[2:]
        return scheme, parts[2:]
    return "site", parts


def _end_record_entries(path: str) -> Optional[int]:
    """The entry count the zip's end record states, read before the central directory is loaded."""
    import zipfile

    try:
        with open(path, "rb") as fh:
            rec = zipfile._EndRecData(fh)  # noqa: SLF001 - the documented end-record layout, read only
    except Exception:
        return None
    if not rec:
        return None
    return rec[zipfile._ECD_ENTRIES_TOTAL]  # noqa: SLF001


def unpack(path: str, dest_for, *, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES,
           max_entry: int = MAX_ENTRY_BYTES) -> _Unpacked:
    """Unpack the native files and small Python sources of wheel ``path``; ``dest_for(scheme, parts)`` gives
    the host path of an entry (or None to leave it out)."""
    import zipfile

    result = _Unpacked()
    stated = _end_record_entries(path)
    if stated is not None and stated > max_entries:
        raise WheelError(f"{os.path.basename(path)} states {stated} entries, more than the {max_entries} "
                         "this check reads: not checked")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise WheelError(f"{os.path.basename(path)} is not a readable zip file: {exc}") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > max_entries:
            raise WheelError(f"{os.path.basename(path)} holds {len(infos)} entries, more than the "
                             f"{max_entries} this check reads: not checked")
        dist_data = None
        for info in infos:
            head = info.filename.split("/", 1)[0]
            if head.endswith(".data"):
                dist_data = head
                break
        for info in infos:
            result.entries += 1
            name = info.filename
            if name.endswith("/"):
                continue
            native = bool(_NATIVE.search(name))
            source = name.endswith(".py") or name.endswith(".pth")
            if not (native or source):
                continue
            parts = _safe_parts(name)
            if parts is None:
                result.skipped.append(f"{name!r}: a name that would leave the install folder: not unpacked")
                result.complete = result.complete and not native
                continue
            mode = (info.external_attr >> 16) & 0xFFFF
            if stat.S_ISLNK(mode):
                result.skipped.append(f"{name}: a symbolic link: not unpacked")
                continue
            if source and info.file_size > MAX_SOURCE_BYTES:
                continue
            if info.file_size > max_entry or (info.file_size > (16 << 20)
                                              and info.file_size > MAX_RATIO * max(info.compress_size, 1)):
                result.skipped.append(f"{name}: {info.file_size} bytes from {info.compress_size} "
                                      "(over the reading budget of one entry): not unpacked")
                result.complete = result.complete and not native
                continue
            if result.bytes + info.file_size > max_bytes:
                result.skipped.append(f"{name}: the wheel's unpacked size would pass {max_bytes} bytes: "
                                      "not unpacked, nor anything after it")
                result.complete = False
                break
            scheme, rel = _install_parts(parts, dist_data)
            host = dest_for(scheme, rel)
            if host is None:
                continue
            os.makedirs(os.path.dirname(host), exist_ok=True)
            written = 0
            try:
                # zipfile stops at the size the entry states and checks its CRC at the end.
                with zf.open(info) as src, open(host, "wb") as out:
                    while True:
                        chunk = src.read(1 << 20)
                        if not chunk:
                            break
                        written += len(chunk)
                        out.write(chunk)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
                result.skipped.append(f"{name}: unreadable in the zip ({exc}): not unpacked")
                result.complete = result.complete and not native
                try:
                    os.unlink(host)
                except OSError:
                    pass
                continue
            result.bytes += written
            if native:
                result.natives.append("/".join(parts))
    return result


# -- the check --------------------------------------------------------------------------------------

def _is_extension(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    if base.lower().endswith(".pyd"):
        return True
    if ".cpython-" in base or ".abi3." in base or ".pypy" in base:
        return base.endswith(".so")
    return base.endswith(".so") and base.count(".") == 1 and not base.startswith("lib")


class WheelCheck:
    """The answer for one wheel: per stock machine, whether every extension module loads, and what is missing."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.dist = self.version = ""
        self.tags: List[str] = []
        self.notes: List[str] = []
        self.skipped: List[str] = []
        self.entries = 0
        self.bytes = 0
        self.complete = True
        self.extensions: List[str] = []
        self.libraries: List[str] = []
        #: one dict per stock machine checked (see to_dict)
        self.machines: List[dict] = []
        #: (machine index, DepTree) for every file resolved
        self.trees: List[tuple] = []

    @property
    def ok(self) -> bool:
        """True only when everything native was seen and loads on every stock machine checked (a wheel
        with no native file at all loads anywhere)."""
        if not self.complete:
            return False
        if not self.extensions and not self.libraries:
            return True
        return bool(self.machines) and all(m["ok"] for m in self.machines)

    def to_dict(self) -> dict:
        return {"file": self.path, "name": self.dist, "version": self.version, "tags": self.tags,
                "ok": self.ok, "complete": self.complete, "extensions": self.extensions,
                "libraries": self.libraries, "machines": self.machines, "notes": self.notes,
                "skipped": self.skipped, "limits": {"entries_read": self.entries, "bytes_unpacked": self.bytes,
                                                    "max_entries": MAX_ENTRIES, "max_bytes": MAX_BYTES}}


def check_wheel(path: str, *, tag: Optional[str] = None, python: Optional[Tuple[int, int]] = None,
                minimal: bool = False,
                max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> WheelCheck:
    """Check wheel ``path`` against the stock machine(s) of its platform tags (or of ``tag``); ``minimal``:
    Linux machines without the libraries a policy allows but minimal installs lack."""
    dist, version, py_tags, abi_tags, plat_tags = wheel_tags(path)
    check = WheelCheck(path)
    check.dist, check.version = dist, version
    check.tags = [f"{p}-{a}-{t}" for p in py_tags for a in abi_tags for t in plat_tags]
    chosen, note = _python_of(py_tags, abi_tags)
    if python is not None:
        chosen, note = python, None
    if note:
        check.notes.append(note)
    specs, notes = stock_specs([tag] if tag else plat_tags, chosen)
    if minimal:  # Linux: without the libraries minimal installs lack (libGL.so.1, libX11.so.6 ...)
        specs = [s.with_extras("minimal") if s.platform == "linux" else s for s in specs]
    if tag and not specs:
        raise WheelError(f"--tag {tag[:80]!r} names no stock machine of the tables (manylinux_2_28_x86_64, "
                         "musllinux_1_2_aarch64, win_amd64, macosx_11_0_arm64 ...)")
    check.notes.extend(notes)
    if not os.path.isfile(path):
        raise WheelError(f"{path}: no such file")
    for index, spec in enumerate(specs or [None]):
        workdir = tempfile.mkdtemp(prefix="dllmagic-wheel-")
        try:
            _check_on(check, spec, index, path, workdir, max_entries, max_bytes)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    if not specs and (check.extensions or check.libraries):
        check.notes.append("no stock machine to check against: the answer is unknown")
    return check


def _check_on(check: WheelCheck, spec: Optional[StockSpec], index: int, path: str, workdir: str,
              max_entries: int, max_bytes: int) -> None:
    if spec is None:  # no machine: only list what is inside
        unpacked = unpack(path, lambda scheme, rel: os.path.join(workdir, scheme, *rel),
                          max_entries=max_entries, max_bytes=max_bytes)
        _record_unpack(check, unpacked)
        return
    system, loader, python, site, prefix = stock_machine(spec, workdir)
    pm = system.pathmod
    scheme_dirs = {"site": site, "scripts": pm.join(prefix, "Scripts" if spec.platform == "windows" else "bin"),
                   "data": prefix, "headers": pm.join(prefix, "include")}

    def machine_path(scheme: str, rel: List[str]) -> Optional[str]:
        base = scheme_dirs.get(scheme)
        return pm.join(base, *rel) if base else None

    def dest_for(scheme: str, rel: List[str]) -> Optional[str]:
        mp = machine_path(scheme, rel)
        return system.host_path(mp) if mp else None

    unpacked = unpack(path, dest_for, max_entries=max_entries, max_bytes=max_bytes)
    if index == 0:
        _record_unpack(check, unpacked)
    natives = [n for n in unpacked.natives]
    machine_paths = {n: machine_path(*_install_parts(n.split("/"), _data_dir(natives, n))) for n in natives}
    extensions = [n for n in natives if _is_extension(n)]
    results = []
    reached: set = set()
    from .loader import walk

    stock_note = (f"resolved on {spec.describe()}: its system libraries are facts of the knowledge tables "
                  "(names and symbol versions are checked against them, symbols are not)")

    def resolve(name: str, on=None):
        from ..._record import replace

        use_loader, use_python, use_note = on or (loader, python, stock_note)
        tree = use_loader.resolve(machine_paths[name], mode="as-imported", python_executable=use_python,
                                  symbols=False)
        return replace(tree, notes=(use_note,) + tuple(tree.notes))

    for name in extensions:
        tree = resolve(name)
        results.append((name, tree))
        reached.update(n.path for n in walk(tree.root) if n.path)
    # Libraries no extension module reaches are loaded on their own (ctypes.CDLL, a full path) - unless an
    # extension module does not load itself: what it would have reached is unknown, and is not guessed.
    roots_fail = any(tree.root.error for _n, tree in results)
    left: List[str] = []
    for name in natives:
        if name in extensions:
            continue
        if roots_fail:
            left.append(name)
            continue
        mp = machine_paths[name]
        if mp in reached or pm.normpath(mp) in {pm.normpath(r) for r in reached}:
            continue
        results.append((name, resolve(name)))
    if left:
        check.notes.append(f"{len(left)} bundled librar{'y' if len(left) == 1 else 'ies'} not resolved on "
                           f"{spec.tag}: an extension module that may load them does not load there itself "
                           f"({', '.join(left[:3])}{' ...' if len(left) > 3 else ''})")
    verdict = _summarise(spec, results, system)
    if not verdict["ok"] and spec.platform == "windows" and "vc-redist" not in spec.extras and verdict["needs"] \
            and all(n["library"].lower() in vc_redist_names() for n in verdict["needs"]):
        # Only the Visual C++ runtime is missing: prove that the redistributable is enough.
        with_redist = spec.with_extras("vc-redist")
        system2, loader2, python2, _site, _prefix = stock_machine(with_redist, workdir)
        note2 = stock_note.replace(spec.describe(), with_redist.describe())
        again = [(name, resolve(name, (loader2, python2, note2))) for name, _t in results]
        second = _summarise(with_redist, again, system2)
        verdict["with_vc_redist"] = {"ok": second["ok"], "needs": second["needs"]}
        if second["ok"]:
            from ...knowledge.tables import library_provider

            entry = library_provider(verdict["needs"][0]["library"], "windows") or {}
            redist = entry.get("windows_redist") or {}
            arch = {"x86_64": "x64", "i386": "x86", "aarch64": "arm64"}.get(spec.machine, "x64")
            url = redist.get(f"url_{arch}") if arch != "x64" else redist.get("url")
            verdict["verdict"] = (f"needs the Microsoft Visual C++ 2015-2022 Redistributable ({arch}) first: "
                                  f"{url or redist.get('url', 'https://learn.microsoft.com/en-us/cpp/windows/latest-supported-vc-redist')}"
                                  " - with it installed, every extension module loads")
            verdict["needs_vc_redist"] = True
    check.machines.append(verdict)
    check.trees.extend((len(check.machines) - 1, tree) for _n, tree in results)
    if not extensions and not natives:
        verdict["verdict"] = "no native code: nothing to load"


def _data_dir(natives: List[str], name: str) -> Optional[str]:
    head = name.split("/", 1)[0]
    return head if head.endswith(".data") else None


def _record_unpack(check: WheelCheck, unpacked: _Unpacked) -> None:
    check.entries, check.bytes = unpacked.entries, unpacked.bytes
    check.skipped.extend(unpacked.skipped)
    check.complete = check.complete and unpacked.complete
    check.extensions = [n for n in unpacked.natives if _is_extension(n)]
    check.libraries = [n for n in unpacked.natives if not _is_extension(n)]


_LIBPYTHON = re.compile(r"^libpython\d+\.\d+[a-z]*\.so(\.\d+)*$|^Python$")


def _summarise(spec: StockSpec, results, system) -> dict:
    """One machine's verdict: per file ok or its problems, and the libraries (versions) that must come first."""
    from .loader import problems
    from .loader.providers import provider_note

    files = []
    needs: Dict[str, dict] = {}
    for name, tree in results:
        found = problems(tree)
        files.append({"file": name, "path": tree.root.path or tree.root.name, "ok": not found,
                      "problems": [{"kind": p.kind, "name": p.name, "library": p.library,
                                    "required_by": p.required_by, "detail": p.detail} for p in found]})
        for p in found:
            if p.required_by is None and p.name == tree.root.name:
                # the module itself does not load here (another CPU or format, a newer OS than the tag)
                key = f"itself:{name}"
                kind = "unloadable-library" if p.kind == "missing-library" else p.kind   # it is there: refused
                entry = needs.setdefault(key, {"kind": kind, "name": name, "library": name, "required_by": [],
                                               "provided_by": f"the file itself does not load: {p.detail}"})
            else:
                library = p.library if p.kind in ("symbol-version", "missing-symbol") and p.library else p.name
                key = f"{p.kind}:{p.name}"
                entry = needs.get(key)
                if entry is None:
                    entry = needs[key] = {"kind": p.kind, "name": p.name, "library": library or p.name,
                                          "required_by": [], "provided_by": _what_provides(spec, p, library or p.name)}
            if name not in entry["required_by"]:
                entry["required_by"].append(name)
    order = {"unloadable-library": 0, "missing-library": 1, "symbol-version": 2, "missing-symbol": 3}
    ranked = sorted(needs.values(), key=lambda n: (order.get(n["kind"], 9), n["library"].lower(),
                                                   _vkey_text(n["name"]), n["name"]))
    ok = not ranked
    machine = spec.describe()
    if ok:
        verdict = f"loads on {machine}"
    else:
        itself = [n for n in ranked if (n["provided_by"] or "").startswith("the file itself")]
        names = [n["name"] for n in ranked if n not in itself]
        more = f" and {len(names) - 6} more" if len(names) > 6 else ""
        parts = [f"{n['name']} itself does not load ({n['provided_by'][len('the file itself does not load: '):]})"
                 for n in itself[:3]]
        if names:
            parts.append(f"first needs {', '.join(names[:6])}{more}")
        verdict = f"does not load on {machine}: " + "; ".join(parts)
    optional = []
    if spec.platform == "linux":
        policy, _l, _n = linux_policy(spec.baseline)
        # the stock libraries the wheel's files reached (by name or by the path they were found at)
        wanted = {posixpath_basename(x) for _f, tree in results for n in _walk_nodes(tree.root) if n.path
                  for x in (n.name, n.path)}
        for lib in policy.get("optional_libraries", ()):
            if lib in wanted:
                note = provider_note(lib, "linux")
                optional.append({"library": lib, "provided_by": note})
    out = {"tag": spec.tag, "platform": spec.platform, "machine": spec.machine, "baseline": spec.baseline,
           "python": f"{spec.python[0]}.{spec.python[1]}", "stock_machine": machine,
           "vc_redist": "vc-redist" in spec.extras, "ok": ok, "verdict": verdict,
           "needs": ranked, "files": files}
    if optional:
        out["not_on_minimal_installs"] = optional
    return out


def _vkey_text(text: str) -> Tuple[int, ...]:
    """GLIBC_2.14 -> (2, 14): versions sort as versions."""
    return tuple(int(p) for p in re.findall(r"\d+", text)[:6])


def posixpath_basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _walk_nodes(root):
    from .loader import walk

    return walk(root)


def _what_provides(spec: StockSpec, problem, library: str) -> Optional[str]:
    """What provides a missing library (or a newer one, for a missing version), in one line."""
    from .loader.providers import provider_note

    base = library.replace("\\", "/").rsplit("/", 1)[-1]
    if problem.kind == "symbol-version":
        if spec.platform == "linux":
            return (f"{base} of {spec.baseline} stops before {problem.name}: the wheel needs a newer system "
                    "than its tag promises")
        return None
    if spec.platform == "linux" and _LIBPYTHON.match(base):
        return ("the Python library: extension modules must not link it (PEP 513); a stock interpreter "
                "has it linked in")
    if spec.platform == "windows":
        note = provider_note(base, "windows", spec.machine, spec.bits)
    elif spec.platform == "macos":
        note = provider_note(base, "macos")
        if note is None and library.startswith(("/opt/homebrew/", "/usr/local/")):
            note = f"not part of macOS: {library} comes from Homebrew or a local build, absent on a stock Mac"
    else:
        note = provider_note(base, "linux")
        policy, _l, _n = linux_policy(spec.baseline)
        if policy is not None and base in policy["libraries"]:
            return (f"allowed by the {spec.baseline} policy, absent from minimal installs"
                    + (f": {note}" if note else ""))
        if note:
            note += f"; not in the {spec.baseline} policy, so the wheel should bundle it (auditwheel repair)"
        else:
            note = f"not in the {spec.baseline} policy: the wheel should bundle it (auditwheel repair)"
    return note

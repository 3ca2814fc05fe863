"""Windows' registry of installed Pythons (PEP 514)."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..._record import Record
from ..system import System

PEP514 = "PEP 514 registry"

#: Hive labels a machine description (or the live reader) may use, and the registry path each stands for.
_HIVES = {
    "hkcu": "HKCU\\Software\\Python",
    "hkey_current_user": "HKCU\\Software\\Python",
    "hklm": "HKLM\\Software\\Python",
    "hkey_local_machine": "HKLM\\Software\\Python",
    "hklm\\wow6432node": "HKLM\\Software\\Wow6432Node\\Python",
    "hklm\\software\\wow6432node": "HKLM\\Software\\Wow6432Node\\Python",
    "hkey_local_machine\\software\\wow6432node": "HKLM\\Software\\Wow6432Node\\Python",
    "hklm32": "HKLM\\Software\\Wow6432Node\\Python",
}


class RegisteredPython(Record):
    """One ``Software\\Python\\<Company>\\<Tag>`` key of Windows' registry of installed Pythons (PEP 514)."""

    key: str                          # HKCU\Software\Python\PythonCore\3.11
    company: str
    tag: str
    install_path: Optional[str]       # InstallPath's default value
    executable: Optional[str]         # InstallPath\ExecutablePath
    version: Optional[str]            # SysVersion (X.Y), or PythonCore's tag
    architecture: Optional[str]       # SysArchitecture (32bit, 64bit, ARM64), or PythonCore's default
    display_name: Optional[str]

    @property
    def found_by(self) -> str:
        return f"{PEP514} ({self.key})"

    def prefix(self, system: System) -> Optional[str]:
        if self.install_path:
            return system.pathmod.normpath(self.install_path)
        if self.executable:
            return system.pathmod.dirname(self.executable)
        return None


def _reg_str(value: Any) -> Optional[str]:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _reg_default(value: Any) -> Optional[str]:
    """A key's default value: a dict holds it under "" (winreg's name), "(default)" or "(Default)"."""
    if isinstance(value, Mapping):
        for name in ("", "(default)", "(Default)", "@"):
            if _reg_str(value.get(name)):
                return _reg_str(value.get(name))
        return None
    return _reg_str(value)


def parse_pep514(tree: Optional[Mapping[str, Any]]) -> List[RegisteredPython]:
    """The Pythons a PEP 514 registry tree lists: ``{hive: {company: {tag: values}}}`` (pure; tests feed it).

    ``hive`` is ``HKCU``, ``HKLM`` or ``HKLM\\Wow6432Node`` (the 32-bit view); a tag's values are
    ``DisplayName``, ``SysVersion``, ``SysArchitecture`` and the ``InstallPath`` subkey, either a string (its
    default value) or ``{"": folder, "ExecutablePath": ...}`` as winreg reads it; ``ExecutablePath`` may also
    sit on the tag itself. PEP 514's rules apply: the ``PyLauncher`` company is not a Python; for
    ``PythonCore`` a missing SysVersion is the tag's X.Y and a missing SysArchitecture is that of the
    registry view (``-32`` tags and Wow6432Node: 32bit).
    """
    out: List[RegisteredPython] = []
    if not isinstance(tree, Mapping):
        return out
    for hive, companies in tree.items():
        base = _HIVES.get(str(hive).lower().replace("/", "\\").rstrip("\\"))
        if base is None or not isinstance(companies, Mapping):
            continue
        wow32 = "Wow6432Node" in base
        for company, tags in companies.items():
            if not isinstance(tags, Mapping) or str(company).lower() == "pylauncher":
                continue
            for tag, values in tags.items():
                if not isinstance(values, Mapping):
                    continue
                install = values.get("InstallPath")
                install_path = _reg_default(install)
                executable = _reg_str(install.get("ExecutablePath")) if isinstance(install, Mapping) else None
                executable = executable or _reg_str(values.get("ExecutablePath"))
                version = _reg_str(values.get("SysVersion"))
                arch = _reg_str(values.get("SysArchitecture"))
                core = str(company) == "PythonCore"
                if core and not version:
                    match = re.match(r"^(\d+\.\d+)", str(tag))
                    version = match.group(1) if match else None
                if core and not arch:
                    tag_l = str(tag).lower()
                    arch = "32bit" if (tag_l.endswith("-32") or wow32) else (
                        "ARM64" if tag_l.endswith("-arm64") else "64bit")
                display = _reg_str(values.get("DisplayName")) or (f"Python {tag}" if core else None)
                out.append(RegisteredPython(
                    key=f"{base}\\{company}\\{tag}", company=str(company), tag=str(tag), install_path=install_path,
                    executable=executable, version=version, architecture=arch, display_name=display))
    return out


def read_pep514_registry(winreg_module: Any = None) -> Dict[str, Any]:
    """Windows' PEP 514 keys, read live with ``winreg``, as the tree :func:`parse_pep514` takes.

    Reads ``HKCU\\Software\\Python`` and ``HKLM\\Software\\Python`` in the 64-bit and the 32-bit
    (``Wow6432Node``) registry views; every key is opened read-only and closed again. Only Windows has this
    registry: elsewhere ``import winreg`` fails and the tree is empty. The real registry cannot be had on
    Linux, so the tests pass a stand-in module (``winreg_module``) with winreg's functions and constants
    (OpenKey, EnumKey, EnumValue, CloseKey, HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE, KEY_READ,
    KEY_WOW64_64KEY, KEY_WOW64_32KEY).
    """
    if winreg_module is None:
        try:
            import winreg as winreg_module  # type: ignore[import-not-found,no-redef]
        except ImportError:
            return {}
    w = winreg_module
    read = getattr(w, "KEY_READ", 0x20019)
    views = (("HKCU", w.HKEY_CURRENT_USER, 0),
             ("HKLM", w.HKEY_LOCAL_MACHINE, getattr(w, "KEY_WOW64_64KEY", 0x0100)),
             ("HKLM\\Wow6432Node", w.HKEY_LOCAL_MACHINE, getattr(w, "KEY_WOW64_32KEY", 0x0200)))

    def subkeys(key: Any) -> List[str]:
        names: List[str] = []
        for i in range(512):
            try:
                names.append(w.EnumKey(key, i))
            except OSError:
                break
        return names

    def values(key: Any) -> Dict[str, Any]:
        found: Dict[str, Any] = {}
        for i in range(256):
            try:
                name, data, _type = w.EnumValue(key, i)
            except OSError:
                break
            if isinstance(data, str):
                found[name or ""] = data
        return found

    def opened(parent: Any, path: str, flag: int) -> Any:
        try:
            return w.OpenKey(parent, path, 0, read | flag)
        except OSError:
            return None

    tree: Dict[str, Any] = {}
    seen: Dict[Tuple[str, str], Any] = {}
    for label, root, flag in views:
        top = opened(root, "Software\\Python", flag)
        if top is None:
            continue
        try:
            for company in subkeys(top):
                ckey = opened(top, company, flag)
                if ckey is None:
                    continue
                try:
                    for tag in subkeys(ckey):
                        tkey = opened(ckey, tag, flag)
                        if tkey is None:
                            continue
                        try:
                            entry = values(tkey)
                            ikey = opened(tkey, "InstallPath", flag)
                            if ikey is not None:
                                try:
                                    entry["InstallPath"] = values(ikey)
                                finally:
                                    w.CloseKey(ikey)
                        finally:
                            w.CloseKey(tkey)
                        if label != "HKCU":
                            # On 32-bit Windows both HKLM views are one: list each key once.
                            if seen.get((company, tag)) == entry:
                                continue
                            seen[(company, tag)] = entry
                        tree.setdefault(label, {}).setdefault(company, {})[tag] = entry
                finally:
                    w.CloseKey(ckey)
        finally:
            w.CloseKey(top)
    return tree


def registry_pythons(system: System, notes: Optional[List[str]] = None) -> List[RegisteredPython]:
    """The PEP 514 Pythons of ``system``: a modelled machine's stated registry, a live Windows machine's own."""
    tree = getattr(system, "registry", None)
    if tree is None:
        if not (system.live and system.platform == "windows"):
            return []
        try:
            tree = read_pep514_registry()
        except Exception as exc:  # an unreadable registry is a note, never a failed discovery
            if notes is not None:
                notes.append(f"could not read the PEP 514 registry: {type(exc).__name__}: {exc}")
            return []
    return parse_pep514(tree)

"""One request: the places glibc ld.so (or musl) tries for a name, in order, and DST expansion."""
from __future__ import annotations

import re
TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only (PEP 563): typing is not imported at run time
    from typing import List, Optional, Sequence
    from .resolution import _Resolution

from ...binary import Binary
from ..ldcache import cache_flags_for
from ..tree import Candidate
from .common import MULTIARCH, _CLASS, _MUSL_BUILTIN, _N, _Obj


class _Search:
    """The search half of :class:`~.resolution._Resolution` (a mixin: it uses the resolution's state)."""

    # -- one request -------------------------------------------------------------------------------
    def _request(self, name: str, requester: _Obj, node: _N) -> Optional[_Obj]:
        hit = self.by_name.get(name)
        if hit is not None:
            return self._reuse(hit, node, name)
        if self.kind == "musl" and _MUSL_BUILTIN.match(name):
            rtld = self.by_name.get(self.interp) if self.interp else None
            if rtld is not None:
                node.notes.append("musl serves this name from its own loader")
                return self._reuse(rtld, node, name)
        if "/" in name:
            path = _expand(name, requester.origin, self)
            if path is None:
                node.error = "cannot expand $ORIGIN"
                return None
            if not path.startswith("/"):
                path = self._absolute(path)
                node.notes.append("relative path: opened from the current folder")
            result = self._try_file(path, "direct-path", None, node)
            if result is None or isinstance(result, str):
                node.error = result or "not found"
                return None
            return self._place(result, name, path, "direct-path", None, requester, node)
        key = (name, self._search_key(requester))
        memo = self.L._searches.get(key)
        if memo is None:
            # The places tried and the outcome depend only on the name and the search context, so
            # one search serves every tree that asks the same name from the same context.
            scratch = _N(name, 0, None)
            outcome = None
            for path, rule, via in self._search(name, requester, scratch):
                result = self._try_file(path, rule, via, scratch)
                if result is not None:
                    outcome = (path, rule, via, result)
                    break
            memo = self.L._searches[key] = (tuple(scratch.candidates), outcome)
        candidates, outcome = memo
        node.candidates.extend(candidates)
        if outcome is not None:
            path, rule, via, result = outcome
            if isinstance(result, str):  # a file that stops the load
                node.error = result
                node.path = path
                return None
            return self._place(result, name, path, rule, via, requester, node)
        if any(c.reason.startswith("wrong ELF class") for c in candidates):
            node.error = "wrong ELF class: " + _CLASS.get(64 if self.bits == 32 else 32, "")
        else:
            node.error = "not found"
        return None

    def _search_key(self, requester: _Obj) -> tuple:
        """Everything :meth:`_search` reads about the requester and its loader chain, as a key.

        Only objects whose RPATH/RUNPATH (or NODEFLIB) can change the search are part of it: the
        many files that have none share one search per name (libc.so.6 is looked up once, not once
        per extension module).
        """
        ctx = requester._ctx
        if ctx is None:
            m = self.main
            b = requester.binary
            own = (requester.path, requester.origin, bool(b.runpath), "nodeflib" in b.flags) \
                if b.rpath or b.runpath or "nodeflib" in b.flags else None
            chain = tuple((o.path, o.origin, o.depth, o is m, o is requester) for o in self._chain(requester)
                          if o.binary.rpath or o.binary.runpath)
            main = (m.path, m.origin, bool(m.binary.runpath)) if m is not None and m.binary.rpath else None
            llp = self.L.env.get("LD_LIBRARY_PATH") or ""
            # $ORIGIN in LD_LIBRARY_PATH is the main program's folder (or the requester's without one).
            llp_origin = (m or requester).origin if "$" in llp else None
            ctx = requester._ctx = (self.interp, self.bits, self.machine, self.mode, main, own, chain,
                                    llp_origin)
        return ctx

    def _reuse(self, hit: _Obj, node: _N, name: str) -> _Obj:
        if hit is self.main and self.mode == "standalone":
            self.root_matched = True
        hit.names.add(name)
        node.path = hit.path
        if hit.preloaded:
            # In the process before this load began (python and its libraries, /proc/self/maps,
            # ld.so itself): glibc matches the name and never searches.
            node.rule = "already-loaded"
            node.candidates.append(Candidate(hit.path, "already-loaded", "found"))
            return hit
        first = hit.node
        node.rule = first.rule if first is not None else "already-loaded"
        node.via = first.via if first is not None else None
        return hit

    def _place(self, binary: Binary, name: str, path: str, rule: str, via: Optional[str],
               requester: _Obj, node: _N) -> _Obj:
        node.path, node.rule, node.via = path, rule, via
        same = self.by_id.get(binary.file_id) if binary.file_id is not None else None
        if same is not None:
            # ld.so compares device and inode: a second path to a loaded file is that same object.
            node.notes.append(f"found as {path} [{rule}], the same file as {same.path}, already loaded")
            same.names.add(name)
            node.path = same.path
            if same.preloaded:
                node.rule = "already-loaded"
            return same
        return self._add(path, binary, requester, requester.depth + 1, names=(name,))

    def _mismatch(self, b: Binary) -> Optional[str]:
        if b.bits and b.bits != self.bits:
            return f"wrong ELF class: {_CLASS.get(b.bits, b.bits)}"
        if b.machine and b.machine != self.machine:
            return f"wrong machine {b.machine} (the process is {self.machine})"
        return None

    def _try_file(self, path: str, rule: str, via: Optional[str], node: _N):
        """Binary if loadable, None to go on searching, or an error text that stops the load."""
        outcome, reason, result = self.L.probe(path, self.bits, self.machine)
        node.candidates.append(Candidate(path, rule, outcome, reason, via))
        return result

    def _dirs(self, entries: Sequence[str], owner: _Obj) -> List[str]:
        """Expanded, de-duplicated folders of one RPATH/RUNPATH/LD_LIBRARY_PATH list (fillin_rpath)."""
        key = (tuple(entries), owner.origin if owner else None, self.machine, self.bits, self.defaults,
               self.platform)
        hit = self.L._dir_lists.get(key)
        if hit is None:
            hit = self.L._dir_lists[key] = self._dirs_uncached(entries, owner)
        return hit

    def _dirs_uncached(self, entries: Sequence[str], owner: _Obj) -> List[str]:
        out: List[str] = []
        for entry in entries:
            d = _expand(entry, owner.origin if owner else None, self) if entry else "."
            if d is None:
                continue
            if d == "":
                d = "."
            if len(d) > 1:
                d = d.rstrip("/") or "/"
            if d not in out:
                out.append(d)
        return out

    def _in_dir(self, d: str, name: str, rule: str, via: Optional[str]):
        """The files tried in one folder: its supported glibc-hwcaps subfolders first, then itself."""
        base = d if d.endswith("/") else d + "/"
        if self.kind == "glibc" and self.hwcaps:
            for level in self.hwcaps:
                sub = f"{base}glibc-hwcaps/{level}"
                if self.L.is_dir(sub):
                    yield f"{sub}/{name}", rule, via
        if self.kind == "glibc" and self.legacy:
            # glibc < 2.37: the legacy hwcap subfolders (tls, $PLATFORM, ...), longest first
            for sub in self.legacy:
                if self.L.is_dir(base + sub):
                    yield f"{base}{sub}/{name}", rule, via
        yield base + name, rule, via

    def _search(self, name: str, requester: _Obj, node: _N):
        """The places glibc ld.so (or musl) would try for ``name`` asked for by ``requester``, in order.

        Rules left out as a whole are recorded on ``node`` as "not-searched" candidates."""
        note = node.candidates.append
        b = requester.binary
        if self.kind == "musl":
            yield from self._search_musl(name, requester, node)
            return
        if b.runpath:
            # RUNPATH cancels every RPATH for this request: the requester's, its loaders', python's.
            chain = [o for o in self._chain(requester) if o.binary.rpath and not o.binary.runpath]
            if self.main is not None and self.main.binary.rpath and self.main not in chain \
                    and not self.main.binary.runpath:
                chain.append(self.main)
            for o in chain:
                note(Candidate("", "rpath", "not-searched",
                               f"RPATH of {o.path} skipped because RUNPATH is set in {requester.path}", o.path))
        else:
            did_main = False
            for o in self._chain(requester):
                if o.binary.rpath and o.binary.runpath:
                    note(Candidate("", "rpath", "not-searched",
                                   f"RPATH of {o.path} ignored because that file also has RUNPATH", o.path))
                    continue
                if not o.binary.rpath:
                    continue
                rule = "rpath" if o is requester else (
                    "executable-rpath" if o is self.main and self.mode == "as-imported" else f"rpath-of-{o.depth}")
                did_main |= o is self.main
                for d in self._dirs(o.binary.rpath, o):
                    yield from self._in_dir(d, name, rule, o.path)
            m = self.main
            if not did_main and m is not None and m.binary.rpath and not m.binary.runpath:
                for d in self._dirs(m.binary.rpath, m):
                    yield from self._in_dir(d, name, "executable-rpath", m.path)
        llp = self.L.env.get("LD_LIBRARY_PATH")
        if llp:
            # glibc splits on ':' and ';' and expands $ORIGIN relative to the main program.
            entries = re.split(r"[:;]", llp)
            for d in self._dirs(entries, self.main or requester):
                yield from self._in_dir(d, name, "ld-library-path", None)
        if b.runpath:
            for d in self._dirs(b.runpath, requester):
                yield from self._in_dir(d, name, "runpath", requester.path)
        nodeflib = "nodeflib" in b.flags
        cache = self.L.ld_cache()
        if cache.entries:
            entry = cache.lookup(name, flags=cache_flags_for(self.machine, self.bits), hwcaps=self.hwcaps)
            if entry is not None:
                if nodeflib and any(entry.path.startswith(d.rstrip("/") + "/") for d in self.defaults):
                    note(Candidate(entry.path, "ld.so.cache", "not-searched",
                                   "not searched because of NODEFLIB", requester.path))
                else:
                    yield entry.path, "ld.so.cache", None
            else:
                note(Candidate("/etc/ld.so.cache", "ld.so.cache", "missing", "no entry for this name"))
        else:
            note(Candidate("/etc/ld.so.cache", "ld.so.cache", "not-searched",
                           "; ".join(cache.notes) or "no cache"))
        if nodeflib:
            note(Candidate("", "default-dir", "not-searched", "not searched because of NODEFLIB",
                           requester.path))
            return
        for d in self.defaults:
            yield from self._in_dir(d, name, "default-dir", None)

    def _search_musl(self, name: str, requester: _Obj, node: _N):
        # musl ldso/dynlink.c load_library: LD_LIBRARY_PATH, then the RPATH/RUNPATH of the requester and
        # up its needed_by chain (musl makes no difference between the two), then the path file.
        llp = self.L.env.get("LD_LIBRARY_PATH")
        if llp:
            for d in self._dirs(llp.split(":"), self.main or requester):
                yield from self._in_dir(d, name, "ld-library-path", None)
        for o in self._chain(requester):
            entries = o.binary.runpath or o.binary.rpath
            if not entries:
                continue
            rule = ("runpath" if o.binary.runpath else "rpath") if o is requester else f"rpath-of-{o.depth}"
            for d in self._dirs(entries, o):
                yield from self._in_dir(d, name, rule, o.path)
        for d in self.defaults:
            yield from self._in_dir(d, name, "default-dir", None)

    def _chain(self, obj: _Obj):
        seen = set()
        while obj is not None and id(obj) not in seen:
            seen.add(id(obj))
            yield obj
            obj = obj.loader


_DST = re.compile(r"\$(\{(ORIGIN|LIB|PLATFORM)\}|(ORIGIN|LIB|PLATFORM)(?![A-Za-z0-9_]))")


def _expand(entry: str, origin: Optional[str], res: "_Resolution") -> Optional[str]:
    """Expand $ORIGIN, $LIB and $PLATFORM (and their ${} forms); None when $ORIGIN is unknown."""
    if "$" not in entry:
        return entry
    failed = False

    def sub(m):
        nonlocal failed
        word = m.group(2) or m.group(3)
        if word == "ORIGIN":
            if origin is None:
                failed = True
                return ""
            return origin
        if word == "LIB":
            triplet = MULTIARCH.get((res.machine, res.bits))
            # Debian-style multiarch glibc defines $LIB as lib/<triplet>; upstream uses lib64 / lib.
            if triplet and any(d.endswith(triplet) for d in res.defaults):
                return f"lib/{triplet}"
            return "lib64" if res.bits == 64 and any(d.endswith("lib64") for d in res.defaults) else "lib"
        return res.platform

    out = _DST.sub(sub, entry)
    return None if failed else out

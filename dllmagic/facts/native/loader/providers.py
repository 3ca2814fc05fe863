"""What a missing library belongs to, from the knowledge tables (dllmagic/knowledge/library_providers.json):
a note on its node, so the tree itself says what to install."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

_ARCH = {"x86_64": "x64", "amd64": "x64", "i386": "x86", "x86": "x86", "arm64": "arm64", "aarch64": "arm64"}


def provider_note(name: str, platform: str, machine: Optional[str] = None, bits: Optional[int] = None
                  ) -> Optional[str]:
    """One line naming what provides the library ``name`` on ``platform`` (for Windows, the
    redistributable of the file's own machine: x64, x86 or arm64), or None when the tables do not know."""
    from ....knowledge.tables import library_provider

    try:
        entry = library_provider(name, platform)
    except Exception:  # a damaged table never breaks a tree
        return None
    if entry is None:
        return None
    redist = entry.get("windows_redist")
    if platform == "windows" and redist:
        arch = "x86" if bits == 32 else _ARCH.get((machine or "").lower(), "x64")
        if "url_x86" in redist or "url_arm64" in redist:
            url = redist.get(f"url_{arch}") or redist["url"] if arch != "x64" else redist["url"]
            return f"part of the {redist['name']} ({arch}): {url} - {entry['what']}"
        return f"part of the {redist['name']}: {redist['url']} - {entry['what']}"
    packages = [f"{tool} {' '.join(entry[tool])}" for tool in ("apt", "dnf", "conda", "brew") if entry.get(tool)]
    if not packages:
        return None
    return f"{entry['what']}; provided by {', '.join(packages)}"

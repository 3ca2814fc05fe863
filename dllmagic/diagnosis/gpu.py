"""The GPU stack: a CUDA / cuDNN library file that is missing, and versions that disagree (driver, CUDA
runtime, cuDNN).

Cause ids: ``cuda-library-missing`` (a CUDA runtime / cuDNN / cuBLAS file the build needs is not
installed or not visible), ``gpu-driver-missing`` (no NVIDIA driver: libcuda / nvcuda.dll) and
``cuda-mismatch`` (versions disagree). What a framework was built for is read from its files on disk,
never by importing it: ``torch/version.py`` (``cuda = '12.1'``) and TensorFlow's
``tensorflow/python/platform/build_info.py`` (``cuda_version``, ``cudnn_version``).
"""
from __future__ import annotations

import re
from typing import Dict, Iterable, List, Optional

from .. import fixes
from .._record import Record
from ..facts import hardware
from ..knowledge import tables as knowledge_tables
from ..model import Evidence, Finding, Fix
from . import Context, docs_for, rule
from ._common import error_evidence, basename, conda_fix, detail, kernel_evidence, pip, platform_of

__all__ = ["FrameworkBuild", "framework_build", "gpu_evidence"]

_BUILD_FILES = {"torch": ("torch", "version.py"), "tensorflow": ("tensorflow", "python", "platform", "build_info.py")}


class FrameworkBuild(Record):
    package: str
    version: Optional[str]
    cuda: Optional[str]
    cudnn: Optional[str]
    source: str


def framework_build(ctx: Context, package: str) -> Optional[FrameworkBuild]:
    """What an installed torch / tensorflow says about its own build, read from its files."""
    if ctx.interpreter is None or package not in _BUILD_FILES:
        return None
    for folder in ctx.site_folders:
        path = ctx.system.join(folder, *_BUILD_FILES[package])
        try:
            text = ctx.system.read_text(path, limit=1 << 20)
        except OSError:
            continue
        return parse_build_file(package, text, path)
    return None


def parse_build_file(package: str, text: str, source: str) -> FrameworkBuild:
    def grab(pattern: str) -> Optional[str]:
        match = re.search(pattern, text, re.MULTILINE)
        return match.group(1) if match else None

    if package == "torch":
        return FrameworkBuild("torch", grab(r"^__version__\s*=\s*'([^']+)'"),
                              grab(r"^cuda(?::[^=]*)?=\s*'([^']+)'"), None, source)
    # build_info.py is a dict literal ('cuda_version': '11.2') or, in TensorFlow 2.x,
    # collections.OrderedDict([('cuda_version', '11.2'), ...]).
    return FrameworkBuild("tensorflow", None, grab(r"['\"]cuda_version['\"]\s*[:,]\s*['\"]([^'\"]+)"),
                          grab(r"['\"]cudnn_version['\"]\s*[:,]\s*['\"]([^'\"]+)"), source)


def gpu_evidence(ctx: Context) -> Dict[str, object]:
    """Driver, devices and visible CUDA libraries of the kernel's machine (cached per report)."""
    cached = ctx.cache.get("gpu-facts")
    if cached is None:
        cached = {"driver": hardware.nvidia_driver(ctx.system), "devices": hardware.gpu_devices(ctx.system),
                  "libraries": hardware.visible_cuda_libraries(ctx.system, ctx.site_folders,
                                                               ctx.interpreter.prefix if ctx.interpreter else None)}
        ctx.cache["gpu-facts"] = cached
    return cached


def _facts_as_evidence(ctx: Context) -> List[Evidence]:
    if ctx.interpreter is None:
        return []
    facts = gpu_evidence(ctx)
    out = []
    driver = facts["driver"]
    out.append(Evidence("NVIDIA driver", driver.version if driver else "none found", driver.source if driver else
                        "/proc/driver/nvidia/version, libcuda.so.1"))
    devices = facts["devices"]
    if devices:
        out.append(Evidence("GPUs", ", ".join(d.model for d in devices), devices[0].source))
    libs = facts["libraries"]
    if libs:
        shown = "; ".join(f"{lib.component} {lib.version}: {lib.path}" for lib in libs[:6])
        out.append(Evidence("CUDA libraries visible", shown, ", ".join(sorted({lib.how for lib in libs}))))
    else:
        out.append(Evidence("CUDA libraries visible", "none", "LD_LIBRARY_PATH, site-packages/nvidia, CUDA folders"))
    return out


@rule("missing-shared-library")
def cuda_library_missing(ctx: Context) -> Iterable[Finding]:
    failure = ctx.failure
    library = failure.library or basename(detail(ctx, "found_path"))
    entry = knowledge_tables.cuda_library(library or "")
    if entry is None:
        return
    evidence = kernel_evidence(ctx) + [
        Evidence("missing library", library, "the error message"),
        Evidence("it is", f"{entry['component']} {entry['version']}".strip(),
                 f"knowledge/cuda_libraries.json#{entry['id']}")] + _facts_as_evidence(ctx)
    top = (failure.module or ctx.target or "").split(".")[0]
    if entry.get("driver"):
        yield Finding(
            kind="missing-shared-library", cause="gpu-driver-missing", confidence=0.9,
            summary=f"{library} comes with the NVIDIA driver, which is not installed (or not visible in this "
                    f"container): GPU builds cannot load without it.",
            evidence=tuple(evidence), fixes=(
                fixes.instruction("Install the NVIDIA driver, or expose it to the container",
                                  "Install the driver for your GPU; in Docker, run with --gpus all (NVIDIA Container "
                                  "Toolkit). Without a GPU, install the CPU build of the package instead."),),
            docs=docs_for("missing-shared-library", "gpu-driver-missing"))
        return
    build = framework_build(ctx, top) if top in _BUILD_FILES else None
    if build and (build.cuda or build.cudnn):
        evidence.append(Evidence(f"{top} was built for", f"CUDA {build.cuda or '?'}"
                                 + (f", cuDNN {build.cudnn}" if build.cudnn else ""), build.source))
    fix_list: List[Fix] = []
    for name in entry["pip"][:1]:
        fix = pip(ctx, [name], validated=True, title=f"Install {entry['component']} {entry['version']} from pip ({name})")
        if fix:
            fix_list.append(fix)
    conda = conda_fix(ctx, entry["conda"][:1]) if entry["conda"] else None
    if conda:
        fix_list.insert(0, conda)
    fix_list.append(fixes.instruction(
        (f"{'Or install' if fix_list else 'Install'} the CUDA {entry.get('cuda_major') or ''} toolkit / cuDNN "
         f"libraries and make them visible").replace("  ", " "),
        f"{library} must be in a folder the loader searches (LD_LIBRARY_PATH on Linux; on Windows beside the "
        f"package or in a folder added with os.add_dll_directory). Or install the CPU-only build of {top or 'the package'}."))
    where = "Windows" if platform_of(ctx) == "windows" else "the loader"
    yield Finding(
        kind="missing-shared-library", cause="cuda-library-missing", confidence=0.9,
        summary=(f"{library} is the {entry['component']} {entry['version']} library; {top or 'the package'} was built "
                 f"for it, but {where} cannot find it: that CUDA release is not installed, or not on the search path."
                 if entry["version"] else
                 f"{library} is the {entry['component']} library (its name carries no release); {where} cannot find "
                 f"it: the GPU libraries are not installed, or their folder is not on the search path."),
        evidence=tuple(evidence), fixes=tuple(fix_list), docs=docs_for("missing-shared-library", "cuda-library-missing"))


def _version_tuple(value: Optional[str]) -> Optional[tuple]:
    parts = re.findall(r"\d+", value or "")
    return tuple(int(p) for p in parts) if parts else None


def _compare_versions(found: Optional[str], wanted: Optional[str]) -> Optional[int]:
    """-1, 0 or 1 as ``found`` is older than, equal to or newer than ``wanted``; None when unreadable."""
    a, b = _version_tuple(found), _version_tuple(wanted)
    if a is None or b is None:
        return None
    return (a > b) - (a < b)


def _major_minor(value: Optional[str]) -> str:
    parts = re.findall(r"\d+", value or "")
    return ".".join(parts[:2]) or "?"


@rule("gpu-runtime")
def gpu_versions(ctx: Context) -> Iterable[Finding]:
    failure = ctx.failure
    found, wanted = detail(ctx, "found_version"), failure.version
    evidence = kernel_evidence(ctx) + _facts_as_evidence(ctx)
    evidence.append(error_evidence(ctx))
    signature = failure.signature or ""
    fix_list: List[Fix] = []
    if "cudnn" in signature:
        evidence.append(Evidence("cuDNN", f"loaded {found}, built with {wanted}", "the error message"))
        major = (wanted or "").strip("() ").replace(", ", ".").split(".")[0]
        entry = knowledge_tables.cuda_library(f"libcudnn.so.{major}") if major.isdigit() else None
        if entry:
            for name in entry["pip"][:1]:
                fix = pip(ctx, [name], validated=True, title=f"Install cuDNN {major}.x from pip ({name})")
                if fix:
                    fix_list.append(fix)
        direction = _compare_versions(found, wanted)
        if direction is not None and direction > 0:
            # A newer cuDNN than the build's: frameworks of that era needed the same major.minor release.
            fix_list.append(fixes.instruction(
                f"Install the cuDNN release the framework was built with ({_major_minor(wanted)}.x)",
                f"The cuDNN that is loaded ({found}) is a newer minor release than the one this build accepts: "
                f"install cuDNN {_major_minor(wanted)} for your CUDA version (or a framework release built for "
                f"cuDNN {_major_minor(found)}), and make it the copy found first."))
            summary = (f"The cuDNN that was loaded ({found}) is a newer release than the one the framework was built "
                       f"with ({wanted}), and this build accepts only its own cuDNN minor release.")
        else:
            fix_list.append(fixes.instruction(
                "Make the newer cuDNN the one that is loaded",
                f"An older cuDNN ({found}) comes first on the search path (a system or conda copy): remove it from "
                f"LD_LIBRARY_PATH / PATH, or upgrade it to {wanted} or later."))
            summary = (f"The cuDNN that was loaded ({found}) is older than the one the framework was built with "
                       f"({wanted}).")
    elif signature in ("nvml-driver-library-mismatch", "cuda-system-driver-mismatch"):
        fix_list.append(fixes.instruction(
            "Reboot (or reload the NVIDIA kernel modules), and drop other libcuda copies",
            "The NVIDIA driver's libraries were upgraded while the older kernel module stays loaded: a reboot makes "
            "them agree (or unload and reload the nvidia modules); in a container, the host's driver decides. A "
            "libcuda.so from a CUDA compatibility package on LD_LIBRARY_PATH must match the driver too."))
        summary = ("The NVIDIA kernel driver that is loaded and the driver libraries this process uses are of "
                   "different versions (the driver was upgraded without a reboot, or another libcuda copy is "
                   "found first), so no CUDA program can start.")
    elif signature == "torch-gpu-too-old":
        device, capability = detail(ctx, "device"), detail(ctx, "capability")
        supported = detail(ctx, "supported")
        evidence.append(Evidence("GPU", f"{device} (CUDA capability {capability})", "the error message"))
        if supported:
            evidence.append(Evidence("the oldest capability this build supports", supported, "the error message"))
        fix_list.append(fixes.instruction(
            "Use a release built for this GPU, or the CPU",
            "The installed build dropped this GPU's architecture: install an older release of the framework whose "
            "builds still include it (or build from source for it), or run on the CPU."))
        summary = (f"{device or 'This GPU'} (CUDA capability {capability}) is older than every GPU architecture the "
                   f"installed build has code for" + (f" (the oldest is {supported})" if supported else "") + ".")
    elif "capability" in signature:
        device, capability = detail(ctx, "device"), detail(ctx, "capability")
        supported = detail(ctx, "supported")
        evidence.append(Evidence("GPU", f"{device} ({capability})", "the error message"))
        if supported:
            evidence.append(Evidence("the installed build has kernels for", supported, "the error message"))
        fix_list.append(fixes.instruction(
            f"Install a build of the framework that has kernels for {capability}",
            "A newer GPU needs a build for a newer CUDA release: pick the command for your CUDA version on "
            "https://pytorch.org/get-started/locally/ (pip wheels bring their own CUDA runtime), in a fresh "
            "environment or in place of the installed build."))
        summary = (f"The installed build has no GPU code for {device or 'this GPU'} ({capability}): it was built for "
                   f"older GPU architectures" + (f" ({supported})" if supported else "") + ".")
    elif "driver" in signature or "insufficient" in (failure.message or ""):
        supports = None
        if found and found.isdigit():
            supports = hardware.driver_version_from_cuda_int(int(found))
            evidence.append(Evidence("the driver supports CUDA up to", supports, f"cudaDriverGetVersion() = {found}"))
        need = knowledge_tables.driver_needed("12.x")
        fix_list.append(fixes.instruction(
            "Update the NVIDIA driver", "Install a driver at least as new as the CUDA runtime the package was built "
            "for needs (CUDA 12.x: Linux >= " + (need["linux"] if need else "525.60.13") + "), or install a build of "
            "the package for an older CUDA (e.g. the cu118 wheels of PyTorch)."))
        summary = ("The NVIDIA driver is older than the CUDA runtime the package was built for"
                   + (f" (the driver supports CUDA {supports})" if supports else "") + ".")
    elif signature in ("rocm-no-code-object", "hip-invalid-device-function"):
        fix_list.append(fixes.instruction(
            "Use a ROCm build that has code for this GPU",
            "Each ROCm build of a framework carries GPU code for a list of architectures (gfx…; rocminfo names "
            "this GPU's): install a build whose list has it (a newer ROCm release for a new GPU). For a consumer "
            "GPU next to a listed one, setting HSA_OVERRIDE_GFX_VERSION to the listed one's version is the usual "
            "workaround; it is unsupported and may crash."))
        summary = ("The ROCm build in use has no GPU code for this GPU's architecture (gfx…), so no kernel of it "
                   "can run here.")
    elif signature == "torch-not-compiled-with-cuda":
        fix_list.append(fixes.instruction(
            "Install a CUDA build of PyTorch, or ask the code for another device",
            "The installed PyTorch was built without CUDA (the CPU wheel, or any macOS build). With an NVIDIA GPU "
            "(Linux or Windows), install the build for your CUDA version from https://pytorch.org/get-started/locally/ "
            "in place of it; on a Mac, or without an NVIDIA GPU, make the code use device 'mps' or 'cpu' instead of "
            "'cuda'."))
        summary = ("The code asks for a CUDA device, but the installed PyTorch is a build without CUDA (the CPU "
                   "build, or a macOS build, which has none).")
    elif signature == "jax-backend-init-failed":
        backend, reason = detail(ctx, "backend") or "cuda", detail(ctx, "reason") or ""
        if reason:
            evidence.append(Evidence(f"JAX's {backend} backend", reason, "the error message"))
        if backend.lower() == "metal":
            fix_list.append(fixes.instruction(
                "Install jax-metal with the jax and jaxlib releases it was built for",
                "jax-metal's page on PyPI names the jax and jaxlib releases each of its releases works with; "
                "install that pair (pip install jax-metal jax==X jaxlib==X), or leave Metal out to run on the CPU."))
        else:
            fix_list.append(fixes.instruction(
                "Install JAX and its GPU plugin of one release",
                'pip install -U "jax[cuda12]" installs jax, jaxlib and the CUDA plugin (jax-cuda12-plugin, '
                "jax-cuda12-pjrt) of matching releases, with the CUDA libraries from pip; remove older plugin or "
                "jaxlib copies first (pip list | grep jax)."))
        if "PJRT" in reason:
            summary = (f"JAX's {backend} plugin and jaxlib are of different releases: the plugin's PJRT API version "
                       f"differs from the one jaxlib was built with.")
        else:
            summary = f"JAX could not start its {backend} backend" + (f": {reason}" if reason else ".")
    else:
        if found or wanted:
            evidence.append(Evidence("versions", f"found {found or '?'}, needed {wanted or '?'}", "the error message"))
        fix_list.append(fixes.instruction(
            "Install one consistent GPU stack",
            "Install the framework's build for your driver's CUDA version (pip wheels bring their own CUDA runtime "
            "and cuDNN), and remove other CUDA/cuDNN copies from the library search path."))
        summary = "The driver, CUDA runtime and cuDNN versions in this process do not agree with what the package was built for."
    yield Finding(kind="gpu-runtime", cause="cuda-mismatch", confidence=0.85, summary=summary,
                  evidence=tuple(evidence), fixes=tuple(fix_list), docs=docs_for("gpu-runtime", "cuda-mismatch"))

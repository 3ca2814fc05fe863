#!/usr/bin/env bash
# System packages for the PE (Windows) and Mach-O (macOS) loader tests: mingw-w64 cross compilers and
# binutils (the .pyd/.dll fixtures and the objdump oracle), clang + lld + llvm (the Mach-O fixtures:
# ld64.lld, llvm-objdump --macho), wine64 (Wine 8 on Debian 12: the second opinion on the DLL search
# order, test_wine_second_opinion.py; Debian puts it at /usr/lib/wine/wine64, not on PATH).
# Idempotent and quiet: does nothing when all are present.
set -euo pipefail
need=()
command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64)
command -v i686-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-i686)
command -v x86_64-w64-mingw32-objdump >/dev/null || need+=(binutils-mingw-w64-x86-64)
command -v clang >/dev/null || need+=(clang)
command -v llvm-objdump >/dev/null || need+=(llvm)
{ command -v wine64 >/dev/null || [ -x /usr/lib/wine/wine64 ]; } || need+=(wine64)
{ command -v ld64.lld >/dev/null || ls /usr/lib/llvm-*/bin/ld64.lld >/dev/null 2>&1; } || need+=(lld)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

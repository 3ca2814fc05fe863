#!/usr/bin/env bash
# System packages for the ELF loader tests: gcc and the C library headers (fixtures built per rule),
# binutils (readelf/objdump oracles), libc-bin (ldd, ldconfig), musl + musl-tools (the musl loader model),
# the aarch64 cross compiler and its glibc (an aarch64 manylinux wheel built for real, tests/native_wheels).
# Idempotent and quiet: does nothing when all are present.
set -euo pipefail
need=()
command -v gcc >/dev/null || need+=(gcc libc6-dev)
command -v readelf >/dev/null || need+=(binutils)
command -v ldd >/dev/null || need+=(libc-bin)
command -v musl-gcc >/dev/null || need+=(musl musl-tools)
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

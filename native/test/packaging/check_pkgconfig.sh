#!/usr/bin/env bash
# ctest packaging.pkgconfig: installs the build (cmake --install) into a temporary prefix,
# then builds and runs a project that finds the SDK the Vonage samples' way
# (pkg_check_modules(LIBOPENTOK REQUIRED libopentok)), and compiles the same program with
# `pkg-config --cflags --libs libopentok`.
#   check_pkgconfig.sh BUILD_DIR WORK_DIR C_COMPILER [extra C flags...]
set -euo pipefail
build=$1 work=$2 cc=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
pcdir=$(dirname "$(find "$prefix" -name libopentok.pc | head -1)")
[ -f "$pcdir/libopentok.pc" ] || { echo "libopentok.pc was not installed"; exit 1; }
libdir=$(dirname "$pcdir")
[ -L "$libdir/libopentok.so" ] || { echo "libopentok.so was not installed"; exit 1; }
# the install first, then the system's own .pc files (libopentok.pc's Requires.private: the
# libraries libconvene.so links, libwebsockets jansson opus speexdsp, found as Debian installs them)
syspc=$(pkg-config --variable pc_path pkg-config)
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_LIBDIR=$pcdir:$syspc

# 1. the CMake project
cmake -S "$here/vonage_project" -B "$work/project" -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$*" >"$work/configure.log" ||
  { cat "$work/configure.log"; exit 1; }
cmake --build "$work/project" >"$work/build.log" || { cat "$work/build.log"; exit 1; }
LD_LIBRARY_PATH=$libdir "$work/project/vonage_app"

# 2. pkg-config on the command line
# shellcheck disable=SC2046
"$cc" "$@" -std=c11 -Wall -Werror -o "$work/vonage_app_pc" "$here/vonage_project/main.c" $(pkg-config --cflags --libs libopentok)
LD_LIBRARY_PATH=$libdir "$work/vonage_app_pc"
echo "packaging: libopentok.pc and libopentok.so work from $prefix"

#!/usr/bin/env bash
# Cross-builds the engine for linux-aarch64 and packages it like the host build: libclearclip
# and the ggml libraries it links, plus natives.list, into DEST (the jar resource directory
# dev/clearclip/native/linux-aarch64/). Called by the Maven build of this module (profile
# `arm64`) and by `make natives-arm64`.
#
# ggml comes from the same pinned sdist as the host build (libggml-python, fetched with
# `pip download`), configured directly with cmake/aarch64-linux-gnu.cmake. The build is cached
# outside the clone, in $CLEARCLIP_CACHE_DIR (default ${XDG_CACHE_HOME:-~/.cache}/clearclip)
# under ggml-aarch64-<version>-<hash of every build input>, so CI and later builds reuse it and a
# change of version, flags, toolchain file or compiler builds a new one. A cold cache costs one
# ggml build (2-8 minutes on 2 cores).
#
# usage: build-aarch64.sh DEST              (DEST is emptied and refilled)
#        build-aarch64.sh --if=FLAG DEST     (the same when FLAG is true/on/1, else DEST is removed
#                                            so a host-only build never ships stale aarch64 files)
#        build-aarch64.sh --ggml-only       (only make sure the cached ggml exists; prints its path)
#
# Environment:
#   GGML_VERSION        libggml-python version (default below; the Makefile passes its own)
#   ARM64_MARCH         -march of ggml's CPU backend (default armv8.2-a+dotprod: Raspberry Pi 5,
#                       Jetson Orin, Graviton 2+, Ampere Altra, Apple silicon; armv8-a for a
#                       Raspberry Pi 4 / Cortex-A72, which has no dot-product instructions)
#   JOBS                parallel compile jobs (default 2)
#   BUILD_DIR           CMake build directory of the engine (default native/target/cmake-aarch64)
#   CLEARCLIP_FIXTURES  handed to the ctest suite (build/fixtures)
#   PYTHON              interpreter with pip for `pip download` (default: the repository's
#                       .venv, else python3)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
toolchain=$here/cmake/aarch64-linux-gnu.cmake

GGML_VERSION=${GGML_VERSION:-0.20.2.post1}
ARM64_MARCH=${ARM64_MARCH:-armv8.2-a+dotprod}
JOBS=${JOBS:-2}
BUILD_DIR=${BUILD_DIR:-$here/target/cmake-aarch64}
STAGE_DIR=${STAGE_DIR:-$here/target/stage-aarch64}
CLEARCLIP_FIXTURES=${CLEARCLIP_FIXTURES:-$repo/build/fixtures}
cache_root=${CLEARCLIP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/clearclip}

die() { echo "build-aarch64: $*" >&2; exit 1; }
say() { echo "build-aarch64: $*" >&2; }

if [[ ${1:-} == --if=* ]]; then
    flag=${1#--if=}; shift
    [[ $# -eq 1 ]] || die "usage: build-aarch64.sh --if=FLAG DEST"
    case ${flag,,} in
        true|on|1|yes) ;;
        *)  bash "$here/package-natives.sh" --drop "$1"
            say "linux-aarch64 natives not built (clearclip.arm64=$flag; make ... ARM64=ON builds them)"
            exit 0 ;;
    esac
fi
[[ $# -eq 1 ]] || die "usage: build-aarch64.sh [--if=FLAG] DEST | --ggml-only"

# --- tools -----------------------------------------------------------------------------------
missing=()
command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu)
command -v aarch64-linux-gnu-g++ >/dev/null || missing+=(g++-aarch64-linux-gnu)
[[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]] || missing+=(libc6-dev-arm64-cross)
command -v cmake >/dev/null || missing+=(cmake)
command -v readelf >/dev/null || missing+=(binutils)
# the ctest suite and the smoke test run the aarch64 binaries under qemu-user; the toolchain file
# records the emulator when CMake configures, so it must be there before the first configure
command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
if ((${#missing[@]})); then
    die "the linux-aarch64 cross build needs: apt-get install ${missing[*]} (or build for the host only: make ... ARM64=OFF)"
fi

# --- ggml, cached -------------------------------------------------------------------------------
# Every input that changes the binaries goes into the cache key.
ggml_defines=(
    -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_INSTALL_LIBDIR=lib
    -DBUILD_SHARED_LIBS=ON
    # the same choices as the host package (Makefile, and libggml-python's pyproject.toml), except
    # GGML_BACKEND_DL: arm64 keeps one CPU backend linked in, built for ARM64_MARCH. ggml has arm
    # variants too (GGML_CPU_ALL_VARIANTS: armv8.0 ... armv9.2 with SVE/SME), but their build
    # roughly triples this cross build's time and none of the boards we test on (qemu, Pi 5) has
    # more than the dot-product baseline; switching is -DGGML_BACKEND_DL=ON
    # -DGGML_CPU_ALL_VARIANTS=ON here, the engine and the packaging handle both.
    -DGGML_NATIVE=OFF
    -DGGML_LLAMAFILE=ON
    -DGGML_OPENMP=OFF
    -DGGML_CCACHE=OFF
    -DGGML_CUDA=OFF
    -DGGML_VULKAN=OFF
    # a fixed baseline instead of the build machine's CPU, so the jar runs on every board of it
    "-DGGML_CPU_ARM_ARCH=$ARM64_MARCH"
)
key=$( {
    echo "libggml-python==$GGML_VERSION"
    printf '%s\n' "${ggml_defines[@]}"
    cat "$toolchain"
    aarch64-linux-gnu-gcc --version | head -n 1
    aarch64-linux-gnu-g++ --version | head -n 1
} | sha256sum | cut -c1-12)
ggml_prefix=$cache_root/ggml-aarch64-$GGML_VERSION-$key

pick_python() {
    local p
    for p in "${PYTHON:-}" "$repo/.venv/bin/python" python3; do
        [[ -n $p ]] || continue
        if "$p" -m pip --version >/dev/null 2>&1; then echo "$p"; return 0; fi
    done
    return 1
}

build_ggml() {
    local work sdist py src
    mkdir -p "$cache_root"
    work=$(mktemp -d "$cache_root/.ggml-aarch64-build.XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" EXIT
    sdist=$(ls "$cache_root"/sdist/libggml_python-"$GGML_VERSION".tar.gz 2>/dev/null || true)
    if [[ -z $sdist ]]; then
        py=$(pick_python) || die "no Python with pip found to download libggml-python (set PYTHON)"
        say "downloading the libggml-python==$GGML_VERSION sdist"
        mkdir -p "$cache_root/sdist"
        "$py" -m pip download -q --disable-pip-version-check --no-binary :all: --no-deps \
            -d "$work/dl" "libggml-python==$GGML_VERSION" >&2 \
            || die "pip download libggml-python==$GGML_VERSION failed"
        sdist=$(ls "$work"/dl/libggml_python-"$GGML_VERSION".tar.gz 2>/dev/null) \
            || die "pip download did not give libggml_python-$GGML_VERSION.tar.gz: $(ls "$work/dl")"
        cp "$sdist" "$cache_root/sdist/.tmp.$$" && mv -f "$cache_root/sdist/.tmp.$$" "$cache_root/sdist/${sdist##*/}"
    fi
    tar -xzf "$sdist" -C "$work"
    src=$work/libggml_python-$GGML_VERSION
    [[ -f $src/CMakeLists.txt ]] || die "unexpected sdist layout: no $src/CMakeLists.txt"
    say "building ggml $GGML_VERSION for aarch64 (${ARM64_MARCH}), $JOBS jobs; cached in $ggml_prefix"
    local t0=$SECONDS
    cmake -S "$src" -B "$work/build" -DCMAKE_TOOLCHAIN_FILE="$toolchain" "${ggml_defines[@]}" \
        > "$work/configure.log" 2>&1 || { cat "$work/configure.log" >&2; die "configuring ggml failed"; }
    cmake --build "$work/build" --parallel "$JOBS" > "$work/build.log" 2>&1 \
        || { tail -n 60 "$work/build.log" >&2; die "building ggml failed"; }
    cmake --install "$work/build" --prefix "$work/prefix" > "$work/install.log" 2>&1 \
        || { cat "$work/install.log" >&2; die "installing ggml failed"; }
    [[ -f $work/prefix/lib/cmake/ggml/ggml-config.cmake ]] || die "ggml installed without lib/cmake/ggml"
    { echo "libggml-python==$GGML_VERSION"; printf '%s\n' "${ggml_defines[@]}"; } > "$work/prefix/build-options.txt"
    # Renamed into place only when complete; a build racing this one may win, which is fine.
    mv -T "$work/prefix" "$ggml_prefix" 2>/dev/null || [[ -f $ggml_prefix/build-options.txt ]] \
        || die "cannot move the ggml build into $ggml_prefix"
    say "ggml built in $((SECONDS - t0)) s"
    rm -rf "$work"
    trap - EXIT
}

if [[ -f $ggml_prefix/build-options.txt ]]; then
    say "using cached ggml $ggml_prefix"
else
    build_ggml
fi

if [[ $1 == --ggml-only ]]; then
    echo "$ggml_prefix"
    exit 0
fi
dest=$1

# --- the engine -------------------------------------------------------------------------------
say "building the engine for aarch64 in $BUILD_DIR"
cmake -S "$here" -B "$BUILD_DIR" -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$ggml_prefix" -Uggml_DIR -DCLEARCLIP_FIXTURES="$CLEARCLIP_FIXTURES" >&2
cmake --build "$BUILD_DIR" --parallel "$JOBS" >&2
rm -rf "$STAGE_DIR"
cmake --install "$BUILD_DIR" --prefix "$STAGE_DIR" >&2
bash "$here/package-natives.sh" "$dest" "$STAGE_DIR/lib" "$STAGE_DIR/lib64" >&2

# Guard against packaging host libraries under the aarch64 name (e.g. a stale search path).
while read -r name; do
    machine=$(readelf -h "$dest/$name" | sed -n 's/^ *Machine: *//p')
    [[ $machine == AArch64 ]] || die "$dest/$name is built for '$machine', not AArch64"
done < "$dest/natives.list"
say "linux-aarch64 natives in $dest"

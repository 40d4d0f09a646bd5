#!/usr/bin/env bash
# The system packages clearclip's build and tests need (Debian/Ubuntu names), in one place for
# .ci/run, `make deps` and `make test`.
#
#   .ci/deps.sh list      print the missing packages, one a line (nothing when all are there)
#   .ci/deps.sh has PART  exit 0 when every package of PART is there (e.g. lavapipe)
#   .ci/deps.sh install   install the missing ones with apt-get (as root, or through sudo); fails
#                         when it cannot
#   .ci/deps.sh auto      what `make test` runs: install when that is possible without asking
#                         (root, or sudo without a password); otherwise print one warning per
#                         missing part and go on (those parts are skipped). Under CI=true a part
#                         that cannot be installed is an error.
set -euo pipefail

# part|package|how to tell it is there (a shell test)
# A part is what the tests lose without it; the build itself needs the "build" part.
requirements() {
    cat <<'LIST'
build|cmake|command -v cmake
build|g++|command -v g++
build|make|command -v make
build|binutils|command -v readelf
build|maven|command -v mvn
build|python3-venv|python3 -c 'import venv, ensurepip'
arm64|gcc-aarch64-linux-gnu|command -v aarch64-linux-gnu-gcc
arm64|g++-aarch64-linux-gnu|command -v aarch64-linux-gnu-g++
arm64|libc6-dev-arm64-cross|test -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1
arm64|qemu-user|command -v qemu-aarch64
browser|chromium|command -v chromium
vulkan|glslc|command -v glslc
vulkan|libvulkan-dev|test -e /usr/include/vulkan/vulkan.h
vulkan|spirv-headers|test -d /usr/include/spirv
lavapipe|libvulkan1|test -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 -o -e /usr/lib/aarch64-linux-gnu/libvulkan.so.1 -o -e /usr/lib64/libvulkan.so.1
lavapipe|mesa-vulkan-drivers|dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -qE '^([0-9]+:)?(2[5-9]|[3-9][0-9])\.'
fuzz|clang-14|command -v clang-14
fuzz|libclang-rt-14-dev|dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q 'ok installed'
fuzz|libfuzzer-14-dev|dpkg-query -W -f='${Status}' libfuzzer-14-dev 2>/dev/null | grep -q 'ok installed'
LIST
}

# Packages that must come from the distribution's backports suite (a newer version than the
# release has): Debian 12's Mesa 22.3 lavapipe crashes inside its own driver on ggml's shaders,
# bookworm-backports has Mesa 25.
backports_packages=" mesa-vulkan-drivers "

# What each part's absence costs a local `make test`.
describe() {
    case $1 in
        build) echo "the build itself cannot run" ;;
        arm64) echo "the linux-aarch64 natives are neither built nor tested (ARM64=OFF)" ;;
        browser) echo "the browser test of the server's page is skipped" ;;
        fuzz) echo "the sanitizer build uses gcc and the short libFuzzer run is skipped" ;;
        vulkan) echo "ggml is built without its Vulkan backend (GGML_VULKAN=OFF)" ;;
        lavapipe) echo "the Vulkan parity tests are skipped (no Vulkan device: Mesa >= 25's lavapipe)" ;;
    esac
}

missing_lines() {
    while IFS='|' read -r part pkg probe; do
        bash -c "$probe" >/dev/null 2>&1 || echo "$part|$pkg"
    done < <(requirements)
}

# apt-get as root, or through sudo; $1 = "-n" to never ask for a password.
apt_prefix() {
    if [ "$(id -u)" -eq 0 ]; then echo ""; return 0; fi
    if command -v sudo >/dev/null && sudo ${1:-} true 2>/dev/null; then echo "sudo ${1:-}"; return 0; fi
    return 1
}

install_packages() { # prefix, packages...
    local prefix=$1; shift
    command -v apt-get >/dev/null || { echo "deps: no apt-get on this system: install $* yourself" >&2; return 1; }
    local plain=() backports=() p
    for p in "$@"; do
        if [[ $backports_packages == *" $p "* ]]; then backports+=("$p"); else plain+=("$p"); fi
    done
    echo "deps: installing $*"
    export DEBIAN_FRONTEND=noninteractive
    $prefix apt-get update -qq
    ((${#plain[@]} == 0)) || $prefix apt-get install -y -qq "${plain[@]}" >/dev/null
    ((${#backports[@]} == 0)) || install_backports "$prefix" "${backports[@]}"
}

# Installs from <codename>-backports without adding it to the system's sources: apt reads a
# private sources list (the system's own suites plus backports) and keeps its own package lists.
# Where the release is not Debian 12, the release's own version is taken (Debian 13 and Ubuntu
# 24.10+ have Mesa >= 25).
install_backports() { # prefix, packages...
    local prefix=$1; shift
    local codename mirror dir
    codename=$(. /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-}")
    if [ "$codename" != bookworm ]; then
        $prefix apt-get install -y -qq "$@" >/dev/null
        return
    fi
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
             | grep -E '^[[:space:]]*(deb|URIs:)[[:space:]]' | grep -oE 'https?://[^ ]*/debian/?' \
             | grep -v security | head -n 1 || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    dir=$(mktemp -d)
    mkdir -p "$dir/lists/partial"
    printf 'deb %s %s main\n' "$mirror" bookworm "$mirror" bookworm-updates "$mirror" bookworm-backports \
        > "$dir/sources.list"
    printf 'deb %s bookworm-security main\n' "${mirror%/debian*}/debian-security" >> "$dir/sources.list"
    local opts=(-o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
                -o "Dir::State::Lists=$dir/lists" -o APT::Sandbox::User=root -qq)
    echo "deps: $* from bookworm-backports ($mirror)"
    $prefix apt-get "${opts[@]}" update
    $prefix apt-get "${opts[@]}" install -y -t bookworm-backports "$@" >/dev/null
    rm -rf "$dir"
}

mode=${1:-list}
mapfile -t missing < <(missing_lines)
packages=()
for m in "${missing[@]}"; do packages+=("${m#*|}"); done

case $mode in
    has)
        ! printf '%s\n' "${missing[@]}" | grep -q "^${2:?usage: $0 has PART}|"
        ;;
    list)
        printf '%s\n' "${packages[@]}" | sed '/^$/d'
        ;;
    install)
        ((${#packages[@]})) || exit 0
        prefix=$(apt_prefix) || { echo "deps: need root or sudo to install ${packages[*]}" >&2; exit 1; }
        install_packages "$prefix" "${packages[@]}"
        ;;
    auto)
        ((${#packages[@]})) || exit 0
        if prefix=$(apt_prefix -n) && command -v apt-get >/dev/null; then
            install_packages "$prefix" "${packages[@]}"
            exit 0
        fi
        if [ "${CI:-}" = true ]; then
            echo "deps: CI=true and cannot install ${packages[*]} (no root, no password-less sudo)" >&2
            exit 1
        fi
        fail=0
        for part in $(printf '%s\n' "${missing[@]}" | cut -d'|' -f1 | uniq); do
            pkgs=$(printf '%s\n' "${missing[@]}" | awk -F'|' -v p="$part" '$1 == p {print $2}' | paste -sd' ')
            echo "WARNING: missing $pkgs: $(describe "$part") ('make deps' installs what is missing)" >&2
            [ "$part" != build ] || fail=1
        done
        exit $fail
        ;;
    *)
        echo "usage: $0 list|install|auto" >&2
        exit 2
        ;;
esac

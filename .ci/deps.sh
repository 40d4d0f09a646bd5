#!/usr/bin/env bash
# The system packages clearclip's build and tests need (Debian/Ubuntu names), in one place for
# .ci/run, `make deps` and `make test`.
#
#   .ci/deps.sh list      print the missing packages, one a line (nothing when all are there)
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
fuzz|clang-14|command -v clang-14
fuzz|libclang-rt-14-dev|dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q 'ok installed'
fuzz|libfuzzer-14-dev|dpkg-query -W -f='${Status}' libfuzzer-14-dev 2>/dev/null | grep -q 'ok installed'
LIST
}

# What each part's absence costs a local `make test`.
describe() {
    case $1 in
        build) echo "the build itself cannot run" ;;
        arm64) echo "the linux-aarch64 natives are neither built nor tested (ARM64=OFF)" ;;
        browser) echo "the browser test of the server's page is skipped" ;;
        fuzz) echo "the sanitizer build uses gcc and the short libFuzzer run is skipped" ;;
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
    echo "deps: installing $*"
    export DEBIAN_FRONTEND=noninteractive
    $prefix apt-get update -qq
    $prefix apt-get install -y -qq "$@" >/dev/null
}

mode=${1:-list}
mapfile -t missing < <(missing_lines)
packages=()
for m in "${missing[@]}"; do packages+=("${m#*|}"); done

case $mode in
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

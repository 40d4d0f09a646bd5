#!/usr/bin/env bash
# Prints the include directory of Vulkan headers new enough for ggml's Vulkan backend, fetching
# them first when needed.
#
#   .ci/vulkan_headers.sh CACHE_DIR
#
# ggml (since commit 642ae0cc) uses vk::LayerSettingEXT without a version guard, which needs
# Vulkan headers >= 1.3.272; Debian 12 ships 1.3.239. The headers are header-only, so Debian 13's
# libvulkan-dev is downloaded (not installed) with a private apt configuration that leaves the
# system's sources, lists and cache alone, and unpacked under CACHE_DIR. The system's headers are
# used when they are new enough. Everything goes to stderr except the printed directory.
set -euo pipefail
cache=${1:?usage: $0 CACHE_DIR}
min_version=272   # VK_HEADER_VERSION needed, with major.minor 1.3 or newer

header_ok() { # include dir
    local h=$1/vulkan/vulkan_core.h v
    [ -f "$h" ] || return 1
    v=$(sed -n 's/^#define VK_HEADER_VERSION \([0-9]*\)$/\1/p' "$h")
    if grep -q '^#define VK_HEADER_VERSION_COMPLETE VK_MAKE_API_VERSION(0, 1, 3,' "$h"; then
        [ "${v:-0}" -ge $min_version ]
    else
        grep -q '^#define VK_HEADER_VERSION_COMPLETE VK_MAKE_API_VERSION(0, 1, [4-9],' "$h"
    fi
}

if header_ok /usr/include; then echo /usr/include; exit 0; fi
dest=$cache/vulkan-headers-trixie
if header_ok "$dest/usr/include"; then echo "$dest/usr/include"; exit 0; fi

command -v apt-get >/dev/null || {
    echo "vulkan headers: /usr/include/vulkan is older than 1.3.$min_version and there is no apt-get;" \
         "install Vulkan headers >= 1.3.$min_version and pass Vulkan_INCLUDE_DIR" >&2; exit 1; }
# The mirror the system already uses (deb822 or one-line format), else Debian's.
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
         | grep -E '^[[:space:]]*(deb|URIs:)[[:space:]]' | grep -oE 'https?://[^ ]*/debian/?' \
         | grep -v security | head -n 1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
apt_dir=$(mktemp -d); trap 'rm -rf "$apt_dir"' EXIT
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/pkg"
echo "deb $mirror trixie main" > "$apt_dir/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
          -o APT::Sandbox::User=root -qq)
echo "vulkan headers: fetching libvulkan-dev from Debian 13 (trixie) at $mirror into $dest" >&2
apt-get "${apt_opts[@]}" update >&2
(cd "$apt_dir/pkg" && apt-get "${apt_opts[@]}" download libvulkan-dev/trixie >&2)
rm -rf "$dest.tmp"; mkdir -p "$dest.tmp"
dpkg-deb -x "$apt_dir"/pkg/libvulkan-dev_*.deb "$dest.tmp"
header_ok "$dest.tmp/usr/include" || { echo "vulkan headers: the downloaded package has no usable vulkan_core.h" >&2; exit 1; }
rm -rf "$dest"; mv "$dest.tmp" "$dest"
echo "$dest/usr/include"

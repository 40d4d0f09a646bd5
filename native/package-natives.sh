#!/usr/bin/env bash
# Copies libclearclip and the shared libraries it needs from the given search directories
# (the CMake install stage, where `cmake --install` collected the ggml runtime: that install rule
# is the one place that decides what ships) into DEST, as real files named by their SONAME: jars
# cannot hold symlinks, and the dynamic linker looks dependencies up by SONAME.
# Writes DEST/natives.list with the file names in load order (dependencies first), which is
# the order dev.clearclip.bindings.NativeLibrary loads them in, and DEST/backends.list with the
# ggml backend modules of a GGML_BACKEND_DL build (libggml-cpu-<variant>.so, ...): extracted
# beside libclearclip but never loaded by Java, since ggml picks one and dlopens it itself.
#
# One jar may carry several platforms (DEST is .../dev/clearclip/native/<os>-<arch>); the parent
# directory's platforms.list names the platform directories present, so the loader can say which
# platforms a jar supports when the running one is not among them.
#
# usage: package-natives.sh DEST SEARCH_DIR...   (missing search dirs are ignored)
#        package-natives.sh --drop DEST          (removes DEST, e.g. a platform no longer built)
set -euo pipefail

# Rewrites platforms.list beside the platform directories from what is there now.
write_platforms_index() {
    local parent=$1 d
    mkdir -p "$parent"
    for d in "$parent"/*/natives.list; do
        [[ -e $d ]] && basename "$(dirname "$d")"
    done | sort > "$parent/platforms.list"
}

if [[ ${1:-} == --drop ]]; then
    rm -rf "$2"
    write_platforms_index "$(dirname "$2")"
    exit 0
fi

dest=$1; shift
search_dirs=()
for d in "$@"; do [[ -d $d ]] && search_dirs+=("$d"); done

die() { echo "package-natives: $*" >&2; exit 1; }
command -v readelf >/dev/null || die "readelf not found (install binutils)"

# Path of the file that provides a library name (SONAME or file name) in the search dirs.
find_lib() {
    local d
    for d in "${search_dirs[@]}"; do
        if [[ -e $d/$1 ]]; then readlink -f "$d/$1"; return 0; fi
    done
    return 1
}
soname_of() {
    local s
    s=$(readelf -d "$1" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    echo "${s:-$(basename "$1")}"
}
needed_of() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

declare -A visited=()
order=()
# Depth-first, dependencies before dependents. Names not found in the search dirs are
# system libraries (libc, libstdc++, ...) and stay out of the jar.
visit() {
    local file=$1 name dep dep_file
    name=$(soname_of "$file")
    [[ -n ${visited[$name]:-} ]] && return 0
    visited[$name]=1
    while read -r dep; do
        [[ -z $dep ]] && continue
        if dep_file=$(find_lib "$dep"); then visit "$dep_file"; fi
    done < <(needed_of "$file")
    cp -f "$file" "$dest/$name"
    order+=("$name")
}

root=$(find_lib libclearclip.so) \
    || die "libclearclip.so not found in: ${search_dirs[*]:-(no existing search dir)}; did cmake --install run?"
rm -rf "$dest"
mkdir -p "$dest"
visit "$root"
printf '%s\n' "${order[@]}" > "$dest/natives.list"
# Backend modules: ggml's own file pattern (lib)ggml-<name>-<variant>.so / ggml-<name>.so, named
# as installed (ggml matches the file name, so no SONAME renaming), minus what is linked.
backends=()
for d in "${search_dirs[@]}"; do
    for f in "$d"/libggml-*.so; do
        [[ -f $f ]] || continue
        name=$(basename "$f")
        [[ -n ${visited[$name]:-} || -n ${visited[$(soname_of "$f")]:-} ]] && continue
        [[ -e $dest/$name ]] && continue
        cp -f "$(readlink -f "$f")" "$dest/$name"
        backends+=("$name")
    done
done
printf '%s\n' "${backends[@]}" | sed '/^$/d' | sort > "$dest/backends.list"
write_platforms_index "$(dirname "$dest")"
echo "package-natives: ${order[*]} -> $dest${backends:+ (backend modules: ${backends[*]})}"

#!/usr/bin/env bash
# Regenerates the Java bindings of native/include/clearclip.h into
# bindings/src/main/java/dev/clearclip/bindings/ffi with jextract.
#
# Needs jextract targeting Java 22 (see bindings/README.md for how to build one):
# $JEXTRACT_HOME/bin/jextract if JEXTRACT_HOME is set, else `jextract` on PATH.
# Run it after every change of clearclip.h and commit the result.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
header=$here/../native/include/clearclip.h
package=dev.clearclip.bindings.ffi
header_class=ClearClipNative
out_root=$here/src/main/java
out_dir=$out_root/${package//.//}

if [[ -n ${JEXTRACT_HOME:-} ]]; then
    jextract=$JEXTRACT_HOME/bin/jextract
    [[ -x $jextract ]] || { echo "regenerate.sh: JEXTRACT_HOME=$JEXTRACT_HOME has no bin/jextract" >&2; exit 1; }
elif command -v jextract >/dev/null; then
    jextract=$(command -v jextract)
else
    echo "regenerate.sh: jextract not found. Set JEXTRACT_HOME to a jextract build (bin/jextract)" >&2
    echo "or put jextract on PATH; bindings/README.md explains how to build it." >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Only the declarations of clearclip.h itself: jextract's --dump-includes lists every symbol
# with the header it comes from; keeping clearclip.h's lines drops libc's types.
"$jextract" --dump-includes "$work/includes.txt" "$header" > /dev/null
grep -E '^--include-[a-z]+ +[A-Za-z_0-9]+ +# header: .*/clearclip\.h$' "$work/includes.txt" \
    | awk '{ print $1; print $2 }' > "$work/include-args.txt"
grep -q -- '--include-function' "$work/include-args.txt" \
    || { echo "regenerate.sh: found no clearclip.h functions in jextract's include dump" >&2; exit 1; }

"$jextract" \
    --target-package "$package" \
    --header-class-name "$header_class" \
    --output "$work/out" \
    @"$work/include-args.txt" \
    "$header"

# The header class looks symbols up through NativeLibrary, which loads libclearclip and its
# ggml libraries (from the jar or clearclip.library.path) before the first downcall is linked.
generated=$work/out/${package//.//}
lookup_line='static final SymbolLookup SYMBOL_LOOKUP = SymbolLookup.loaderLookup()'
grep -qF "$lookup_line" "$generated/$header_class.java" \
    || { echo "regenerate.sh: jextract's SYMBOL_LOOKUP line changed; update the rewrite below" >&2; exit 1; }
sed -i "s/static final SymbolLookup SYMBOL_LOOKUP = SymbolLookup.loaderLookup()/static final SymbolLookup SYMBOL_LOOKUP = dev.clearclip.bindings.NativeLibrary.symbolLookup()/" \
    "$generated/$header_class.java"

rm -rf "$out_dir"
mkdir -p "$(dirname "$out_dir")"
cp -r "$generated" "$out_dir"
echo "regenerate.sh: wrote $(ls "$out_dir" | wc -l) files to ${out_dir#"$here"/}"
"$jextract" --version | sed 's/^/  /'

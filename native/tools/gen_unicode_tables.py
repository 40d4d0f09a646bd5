#!/usr/bin/env python3
"""Generates native/src/unicode_data.{h,c}: the character tables of the CLIP tokenizer.

The tokenizer reproduces open_clip's SimpleTokenizer, whose text cleaning is ftfy.fix_text,
html.unescape, str.split/strip/lower and a `regex`-module pattern. Each table is therefore taken
from the library whose behaviour it stands for, so that the C code agrees with the reference
environment character for character:

  unicodedata (Python's own Unicode database)  canonical combining classes, decompositions and
                                               compositions (NFC), \\d digits
  str methods                                  isspace, lower() (full mappings), the Cased and
                                               Case_Ignorable properties lower() uses for final sigma
  regex (the module open_clip compiles with)   what [\\p{L}], [\\p{N}] and [^\\s\\p{L}\\p{N}] match
                                               under IGNORECASE, and which non-ASCII characters match
                                               an ASCII letter case-insensitively. Its Unicode
                                               version is newer than unicodedata's, which is why
                                               these classes do not come from unicodedata.category.
  html                                         HTML5 entity names, invalid numeric references
  ftfy                                         ligatures, width map, control characters, C1 map,
                                               the upper-case entity names fix_text also accepts

Run with the reference environment (the one whose open_clip is the parity target):
    /tmp/refvenv/bin/python native/tools/gen_unicode_tables.py
"""

import html
import html.entities
import os
import sys
import unicodedata

import ftfy
import ftfy.bad_codecs  # noqa: F401  (registers the sloppy-windows-* codecs)
import ftfy.chardata
import regex

MAX_CP = 0x110000
SRC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def all_codepoints():
    return (cp for cp in range(MAX_CP) if not 0xD800 <= cp <= 0xDFFF)


def to_ranges(cps):
    """Sorted code points -> list of inclusive (first, last) ranges."""
    ranges = []
    for cp in sorted(cps):
        if ranges and ranges[-1][1] + 1 == cp:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return ranges


def regex_matches(pattern, flags=regex.IGNORECASE):
    """Code points that the single-character `pattern` matches (one pass over all characters)."""
    cps = list(all_codepoints())
    text = "".join(map(chr, cps))
    return {ord(m.group(0)) for m in regex.finditer(pattern, text, flags)}


def c_cp(cp):
    return "0x%04X" % cp


class Writer:
    def __init__(self):
        self.h = []
        self.c = []

    def ranges(self, name, ranges, comment):
        self.h.append("/* %s */" % comment)
        self.h.append("extern const unicode_range %s[%d];" % (name, len(ranges)))
        self.c.append("const unicode_range %s[%d] = {" % (name, len(ranges)))
        self.c.extend(wrap(["{%s,%s}" % (c_cp(a), c_cp(b)) for a, b in ranges]))
        self.c.append("};\n")

    def array(self, ctype, name, items, comment):
        self.h.append("/* %s */" % comment)
        self.h.append("extern const %s %s[%d];" % (ctype, name, len(items)))
        self.c.append("const %s %s[%d] = {" % (ctype, name, len(items)))
        self.c.extend(wrap(items))
        self.c.append("};\n")


def wrap(items, width=100):
    lines, line = [], "    "
    for it in items:
        piece = it + ","
        if len(line) + len(piece) + 1 > width and line.strip():
            lines.append(line.rstrip())
            line = "    "
        line += piece + " "
    if line.strip():
        lines.append(line.rstrip())
    return lines


def cps_init(s, n):
    cps = [ord(ch) for ch in s]
    assert len(cps) <= n, (s, n)
    return "{" + ",".join(c_cp(c) for c in cps + [0] * (n - len(cps))) + "}"


def c_str(s):
    """ASCII-only C string literal (entity names are ASCII)."""
    assert all(32 <= ord(ch) < 127 and ch not in '"\\' for ch in s), s
    return '"%s"' % s


def main():
    w = Writer()

    # ---- pre-tokenizer classes (regex module, IGNORECASE as open_clip compiles it) ----------
    letters = regex_matches(r"[\p{L}]")
    numbers = regex_matches(r"[\p{N}]")
    others = regex_matches(r"[^\s\p{L}\p{N}]")
    assert not (letters & numbers) and not (letters & others) and not (numbers & others)
    # Runs over the whole code space; class 3 (matched by no alternative) covers whitespace and
    # the odd mark such as U+0345 that IGNORECASE folds into a letter yet \p{L} rejects.
    runs = []
    for cp in range(MAX_CP):
        if 0xD800 <= cp <= 0xDFFF:
            cls = 0  # never decoded; merged into the neighbouring "other" runs
        else:
            cls = 1 if cp in letters else 2 if cp in numbers else 0 if cp in others else 3
        if not runs or runs[-1][1] != cls:
            runs.append((cp, cls))
    w.h.append("enum { UNICODE_CLASS_OTHER = 0, UNICODE_CLASS_LETTER = 1, "
               "UNICODE_CLASS_NUMBER = 2, UNICODE_CLASS_NONE = 3 };")
    w.array("unicode_class_run", "unicode_class_runs",
            ["{%s,%d}" % (c_cp(a), c) for a, c in runs],
            "pre-tokenizer class from each start code point to the next run's start: OTHER is "
            "[^\\s\\p{L}\\p{N}], NONE is matched by no alternative (regex module, IGNORECASE)")

    fold = []
    for a in range(0x21, 0x7F):
        for cp in regex_matches(regex.escape(chr(a))):
            if cp >= 0x80:
                fold.append((cp, a))
    fold.sort()
    w.array("unicode_fold_pair", "unicode_ascii_fold_pairs",
            ["{%s,0x%02X}" % (c_cp(cp), a) for cp, a in fold],
            "non-ASCII characters that match an ASCII character under regex IGNORECASE "
            "(sorted by code point; ASCII case pairs are handled in code)")

    # ---- Python str semantics ----------------------------------------------------------------
    w.ranges("unicode_space_ranges", to_ranges(cp for cp in all_codepoints() if chr(cp).isspace()),
             "str.isspace(): what str.split() and str.strip() remove")

    simple, special = [], []
    for cp in all_codepoints():
        low = chr(cp).lower()
        if low != chr(cp):
            (simple if len(low) == 1 else special).append((cp, low))
    # tokenizer.c reserves twice the length for lower()
    assert all(len(low) <= 2 for _, low in special)
    w.array("unicode_lower_pair", "unicode_lower_pairs",
            ["{%s,%s}" % (c_cp(cp), c_cp(ord(low))) for cp, low in simple],
            "str.lower() one-to-one mappings, sorted by code point")
    w.array("unicode_lower_multi", "unicode_lower_multis",
            ["{%s,%d,%s}" % (c_cp(cp), len(low), cps_init(low, 3)) for cp, low in special],
            "str.lower() mappings to several code points, sorted by code point")

    # lower() turns U+03A3 into final sigma when a cased letter precedes it (skipping
    # case-ignorables) and none follows. Python exposes neither property, so they are measured
    # through lower() itself: for X not Sigma,
    #   ('a' X Sigma) ends in final sigma  <=>  ignorable(X) or cased(X)
    #   ('a' Sigma X) has final sigma      <=>  ignorable(X) or not cased(X)
    #   (X Sigma) ends in final sigma      <=>  cased(X) and not ignorable(X)
    sigma, final = "\u03a3", "\u03c2"
    ignorable, cased = [], []
    for cp in all_codepoints():
        x = chr(cp)
        if x == sigma:
            cased.append(cp)
            continue
        t1 = ("a" + x + sigma).lower()[-1] == final
        t3 = ("a" + sigma + x).lower()[1] == final
        t2 = (x + sigma).lower()[-1] == final
        if t1 and t3:
            ignorable.append(cp)
        elif t2:
            cased.append(cp)
    w.ranges("unicode_case_ignorable_ranges", to_ranges(ignorable),
             "Case_Ignorable as str.lower() sees it (final sigma rule)")
    w.ranges("unicode_cased_ranges", to_ranges(cased),
             "Cased (excluding case-ignorables) as str.lower() sees it (final sigma rule)")

    w.ranges("unicode_decimal_ranges",
             to_ranges(cp for cp in all_codepoints() if unicodedata.category(chr(cp)) == "Nd"),
             "\\d of Python's re on str patterns (category Nd)")

    # ---- NFC (unicodedata) -------------------------------------------------------------------
    ccc_runs = []
    for cp in all_codepoints():
        c = unicodedata.combining(chr(cp))
        if c:
            if ccc_runs and ccc_runs[-1][1] + 1 == cp and ccc_runs[-1][2] == c:
                ccc_runs[-1][1] = cp
            else:
                ccc_runs.append([cp, cp, c])
    w.array("unicode_ccc_range", "unicode_ccc_ranges",
            ["{%s,%s,%d}" % (c_cp(a), c_cp(b), c) for a, b, c in ccc_runs],
            "non-zero canonical combining classes")

    hangul = range(0xAC00, 0xD7A4)  # decomposed and composed arithmetically in the C code
    decomp_entries, pool = [], []
    comps = []
    for cp in all_codepoints():
        if cp in hangul:
            continue
        d = unicodedata.decomposition(chr(cp))
        if not d or d.startswith("<"):
            continue
        full = unicodedata.normalize("NFD", chr(cp))
        decomp_entries.append((cp, len(pool), len(full)))
        pool.extend(ord(ch) for ch in full)
        parts = [int(p, 16) for p in d.split()]
        # A primary composite: NFC rebuilds it from its decomposition.
        if len(parts) == 2 and unicodedata.normalize("NFC", full) == chr(cp):
            comps.append((parts[0], parts[1], cp))
    # tokenizer.c reserves four code points per character for the decomposition
    assert len(pool) < 65536 and max(n for _, _, n in decomp_entries) <= 4
    w.array("unicode_decomp_entry", "unicode_decomps",
            ["{%s,%d,%d}" % (c_cp(cp), off, n) for cp, off, n in decomp_entries],
            "full canonical decompositions (NFD of one character; Hangul syllables excluded): "
            "offset and length in unicode_decomp_pool")
    w.array("uint32_t", "unicode_decomp_pool", [c_cp(c) for c in pool],
            "code points of the decompositions")
    comps.sort()
    w.array("unicode_comp_pair", "unicode_comps",
            ["{%s,%s,%s}" % (c_cp(a), c_cp(b), c_cp(c)) for a, b, c in comps],
            "canonical compositions: (starter, combining) -> primary composite, sorted by pair")

    # ---- ftfy.fix_text -----------------------------------------------------------------------
    # tokenizer.c maps each character through ligatures then widths and reserves three code
    # points per character: that holds while no ligature produces a width-mapped character.
    ligatures, widths = ftfy.chardata.LIGATURES, ftfy.chardata.WIDTH_MAP
    assert all(len(s) <= 3 for s in ligatures.values()) and all(len(s) <= 3 for s in widths.values())
    assert not any(ord(ch) in widths for s in ligatures.values() for ch in s)
    w.array("unicode_map_entry", "unicode_ftfy_ligatures",
            ["{%s,%d,%s}" % (c_cp(cp), len(s), cps_init(s, 3))
             for cp, s in sorted(ligatures.items())],
            "ftfy fix_latin_ligatures")
    w.array("unicode_map_entry", "unicode_ftfy_widths",
            ["{%s,%d,%s}" % (c_cp(cp), len(s), cps_init(s, 3))
             for cp, s in sorted(widths.items())],
            "ftfy fix_character_width")
    w.ranges("unicode_ftfy_control_ranges", to_ranges(ftfy.chardata.CONTROL_CHARS.keys()),
             "ftfy remove_control_chars")
    single = regex_matches(ftfy.chardata.SINGLE_QUOTE_RE.pattern, 0)
    double = regex_matches(ftfy.chardata.DOUBLE_QUOTE_RE.pattern, 0)
    w.ranges("unicode_ftfy_single_quote_ranges", to_ranges(single), "ftfy uncurl_quotes: -> '")
    w.ranges("unicode_ftfy_double_quote_ranges", to_ranges(double), "ftfy uncurl_quotes: -> \"")
    c1 = [ord(bytes([b]).decode("sloppy-windows-1252")) for b in range(0x80, 0xA0)]
    w.array("uint32_t", "unicode_ftfy_c1", [c_cp(c) for c in c1],
            "ftfy fix_c1_controls: U+0080..U+009F read as sloppy Windows-1252")

    # ---- HTML entities -------------------------------------------------------------------------
    # tokenizer.c decodes references in place: no value may be longer than its reference.
    html5 = sorted((k.encode(), v) for k, v in html.entities.html5.items())
    assert all(len(v) <= len(k) + 1 for k, v in html5)
    w.array("unicode_entity", "unicode_html5_entities",
            ["{%s,%d,%s}" % (c_str(k.decode()), len(v), cps_init(v, 3)) for k, v in html5],
            "html.entities.html5 (names with their optional ';'), sorted by name bytes")
    real = {"&" + k for k in html.entities.html5}
    upper = sorted((k[1:].encode(), v) for k, v in ftfy.chardata.HTML_ENTITIES.items()
                   if k not in real)
    assert all(len(v) <= len(k) + 1 for k, v in upper)
    w.array("unicode_entity", "unicode_ftfy_upper_entities",
            ["{%s,%d,%s}" % (c_str(k.decode()), len(v), cps_init(v, 3)) for k, v in upper],
            "upper-cased entity names ftfy also decodes (with ';'), sorted by name bytes")
    w.array("unicode_map_entry", "unicode_html_invalid_charrefs",
            ["{%s,%d,%s}" % (c_cp(n), len(s), cps_init(s, 3))
             for n, s in sorted(html._invalid_charrefs.items())],
            "html.unescape: numeric references replaced by another character")
    w.ranges("unicode_html_invalid_codepoint_ranges", to_ranges(html._invalid_codepoints),
             "html.unescape: numeric references that are dropped")

    versions = ("Python %s, unicodedata (Unicode) %s, regex %s, ftfy %s"
                % (sys.version.split()[0], unicodedata.unidata_version, regex.__version__,
                   ftfy.__version__))
    banner = ("/* Generated by native/tools/gen_unicode_tables.py -- do not edit.\n"
              " * Source: %s. */\n" % versions)

    header = [banner, "#ifndef CLEARCLIP_UNICODE_DATA_H", "#define CLEARCLIP_UNICODE_DATA_H", "",
              "#include <stdint.h>", "",
              "#define UNICODE_DATA_VERSION \"%s\"" % versions, "",
              "typedef struct { uint32_t first, last; } unicode_range;",
              "typedef struct { uint32_t start; uint8_t cls; } unicode_class_run;",
              "typedef struct { uint32_t cp; uint8_t ascii; } unicode_fold_pair;",
              "typedef struct { uint32_t cp, lower; } unicode_lower_pair;",
              "typedef struct { uint32_t cp; uint8_t n; uint32_t cps[3]; } unicode_lower_multi;",
              "typedef struct { uint32_t first, last; uint8_t ccc; } unicode_ccc_range;",
              "typedef struct { uint32_t cp; uint16_t offset; uint8_t n; } unicode_decomp_entry;",
              "typedef struct { uint32_t first, second, composite; } unicode_comp_pair;",
              "typedef struct { uint32_t cp; uint8_t n; uint32_t cps[3]; } unicode_map_entry;",
              "typedef struct { const char * name; uint8_t n; uint32_t cps[3]; } unicode_entity;",
              ""] + w.h + ["", "#endif", ""]
    source = [banner, '#include "unicode_data.h"', ""] + w.c
    with open(os.path.join(SRC_DIR, "unicode_data.h"), "w") as f:
        f.write("\n".join(header))
    with open(os.path.join(SRC_DIR, "unicode_data.c"), "w") as f:
        f.write("\n".join(source))


if __name__ == "__main__":
    main()

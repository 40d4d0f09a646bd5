#!/usr/bin/env python3
"""Writes the tokenizer fixture (vocab, merges, reference corpus) for test_tokenizer.c.

    python native/tests/gen_tokenizer_corpus.py build/fixtures

The cases and the writer live in gguf-tools/reference/tokenizer_fixture.py, which
make_fixtures.py also calls; this is the stand-alone entry point for working on the tokenizer.
Needs open_clip_torch (the reference environment).
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "gguf-tools", "reference"))

from tokenizer_fixture import write_tokenizer_fixture  # noqa: E402

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    write_tokenizer_fixture(sys.argv[1])
    print("wrote", os.path.join(sys.argv[1], "tokenizer"))

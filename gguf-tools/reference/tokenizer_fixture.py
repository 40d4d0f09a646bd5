"""Tokenizer fixture: open_clip's SimpleTokenizer as the reference for the C tokenizer.

write_tokenizer_fixture(root) writes, under root/tokenizer/:
  bpe_vocab.txt   one token per line, in id order (SimpleTokenizer.encoder)
  bpe_merges.txt  one merge "left right" per line, in rank order (SimpleTokenizer.bpe_ranks)
  corpus.tsv      one case per line: hex of the text's UTF-8, TAB, the ids open_clip gives it
                  (context 77, truncated keeping EOT as open_clip does, unpadded)
native/tests/test_tokenizer.c reads these three files.
"""

import os

CONTEXT_LENGTH = 77

LONG_SENTENCE = ("a photograph of a large brown dog running across a green field while two small "
                 "children chase a red ball near the old wooden fence under a cloudy grey sky, ")

CORPUS_TEXTS = [
    # the tokenizer check value ("a photo of a fox") and plain prompts
    "a photo of a fox",
    "a bad photo of a cat.",
    "A Photo Of The Large DOG",
    "itap of a origami bird.",
    "aeroplane",
    "potted plant, potplant",
    "",
    "   ",
    " \t\n ",
    # punctuation and digits (each digit is its own piece)
    "hello, world!!! ... ?!",
    "((nested)) [brackets] {braces} <angle>",
    "2024",
    "3.14",
    "1,000,000",
    "room 101b, 7th floor",
    "e-mail: someone@example.com #tag $5 100% a+b=c",
    # contractions, including after other punctuation and upper case
    "it's",
    "I'LL be there",
    "they've we're you'd she'm don't",
    "'s 'S !'s ''ll",
    # whitespace
    "  leading and trailing spaces  ",
    "tabs\tand\nnewlines\r\nand\rreturns",
    "multiple     internal      spaces",
    "non\u00a0breaking\u00a0space",
    "ideographic\u3000space and\u2003em space",
    "line\u2028separator\u2029paragraph",
    # accents: NFC, NFD, Latin
    "caf\u00e9",
    "cafe\u0301",
    "na\u00efve",
    "\u00c5ngstr\u00f6m",
    "\u212bngstr\u00f6m (angstrom sign)",
    "S\u00e3o Paulo",
    "Z\u00fcrich",
    "Zu\u0308rich",
    "\u1e9b\u0323 o\u0323\u0302 combining order",
    "Stra\u00dfe \u0130stanbul DZ \u01c5 \u01c6",
    # other scripts
    "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3 \u03a3\u03bf\u03c6\u03af\u03b1",
    "\u03b1\u0345 \u1fb3 greek ypogegrammeni",
    "\u041c\u043e\u0441\u043a\u0432\u0430 \u043a\u043e\u0442",
    "\u732b\u3068\u72ac\u306e\u5199\u771f",
    "\ud55c\uad6d\uc5b4 \u1112\u1161\u11ab",
    "\u0627\u0644\u0642\u0637 \u0627\u0644\u0623\u0633\u0648\u062f",
    "\u0939\u093f\u0928\u094d\u0926\u0940 \u0967\u0968\u0969",
    "\u0662\u0660\u0662\u0664 \u00bd \u2167 \u2460",
    # emoji: single, ZWJ sequence, flag, skin tone, keycap
    "a \U0001f98a and a \U0001f431",
    "family \U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",
    "flags \U0001f1eb\U0001f1f7 \U0001f1ef\U0001f1f5",
    "wave \U0001f44b\U0001f3fd",
    "keycap 1\ufe0f\u20e3",
    # ftfy: quotes, fullwidth, halfwidth, ligatures, C1, controls, terminal escapes
    "\u201ccurly quotes\u201d and \u2018single\u2019 it\u2019s",
    "\uff2c\uff2f\uff35\uff24 \uff2e\uff2f\uff29\uff33\uff25\uff33 \uff11\uff12\uff13",
    "\uff73\uff80\uff70\uff9d halfwidth katakana",
    "\ufb01sh \ufb02ower \ufb00 \ufb03 \ufb06 \u0133 \u0149",
    "price \u0080 5 \u0093quoted\u0094",
    "bell\u0007 and\u001b[31m red\u001b[0m text\u007f",
    "zero\u200bwidth \ufeffbom",
    # HTML entities: named, numeric, nested, with and without ';', in HTML-looking text
    "fish &amp; chips",
    "i &lt;3 you",
    "don&#39;t &#x41;&#X42;&#67;",
    "&amp;amp; &amp;lt; &AMP; &EACUTE;",
    "caf&eacute; &copy 2024 &notit; &#128512;",
    "<b>bold</b> &amp; done",
    "line one &amp;\n<i>line two</i> &amp;",
    "&#0; &#59; &#1114112; &#x110000; &#x80;",
    # special-token literals inside text
    "a photo <|endoftext|> of a fox",
    "<start_of_text>hello<end_of_text>",
    "<START_OF_TEXT> upper",
    "!!<end_of_text>",
    "<\u017ftart_of_text> long s",
    "'\u017f contraction with long s",
    # long texts: 200 characters, and one far beyond 77 tokens (truncation)
    ("The quick brown fox jumps over the lazy dog while the cat watches from the windowsill, "
     "and a bird sings in the old oak tree beside the river that flows gently toward the sea")[:200],
    LONG_SENTENCE * 6,
    "antidisestablishmentarianism supercalifragilisticexpialidocious",
    "a" * 300,
]


def _reference_tokenizer():
    from open_clip.tokenizer import SimpleTokenizer

    return SimpleTokenizer(context_length=CONTEXT_LENGTH)


def _reference_ids(tokenizer, text):
    """open_clip's row for `text`, cut where its padding starts."""
    full_length = len(tokenizer.encode(text)) + 2
    row = tokenizer(text)[0].tolist()
    return row[: min(full_length, CONTEXT_LENGTH)]


def _check_within_supported_cleaning(texts):
    """The C tokenizer does not port ftfy's mojibake repair; no case may depend on it."""
    import ftfy

    for text in texts:
        if ftfy.fix_text(text) != ftfy.fix_text(text, fix_encoding=False):
            raise ValueError(f"corpus case {text!r} relies on ftfy's mojibake repair")


def write_tokenizer_fixture(out_dir):
    """Writes bpe_vocab.txt, bpe_merges.txt and corpus.tsv into out_dir/tokenizer/."""
    tokenizer = _reference_tokenizer()
    tok_dir = os.path.join(out_dir, "tokenizer")
    os.makedirs(tok_dir, exist_ok=True)

    by_id = sorted(tokenizer.encoder.items(), key=lambda item: item[1])
    assert [i for _, i in by_id] == list(range(len(by_id)))
    merges = sorted(tokenizer.bpe_ranks.items(), key=lambda item: item[1])
    assert [r for _, r in merges] == list(range(len(merges)))
    for token, _ in by_id:
        assert "\n" not in token and "\r" not in token
    _check_within_supported_cleaning(CORPUS_TEXTS)

    with open(os.path.join(tok_dir, "bpe_vocab.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.writelines(token + "\n" for token, _ in by_id)
    with open(os.path.join(tok_dir, "bpe_merges.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.writelines(f"{left} {right}\n" for (left, right), _ in merges)
    with open(os.path.join(tok_dir, "corpus.tsv"), "w", encoding="ascii", newline="\n") as f:
        for text in CORPUS_TEXTS:
            ids = _reference_ids(tokenizer, text)
            f.write(text.encode("utf-8").hex() + "\t" + " ".join(map(str, ids)) + "\n")

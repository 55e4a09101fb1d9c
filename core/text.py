"""One document's text and its views (lines, paragraphs, words), each computed once and shared by every
heuristic filter that runs on it.

Words are datatrove's English `split_into_words`: a blank spaCy 3.8 English tokenizer, whitespace tokens dropped.
spaCy is only a dev dependency (64-400 docs/s per filter here, ours 280-14,000): `split_words` re-implements its
tokenizer from spaCy's own rules, transcribed: the prefix/suffix/infix expressions (spacy/lang/punctuation.py,
English infixes), the English exceptions ("don't" -> do n't, "cannot" -> can not, "U.S." and "e.g." whole,
emoticons) and URL_MATCH, applied as spacy/tokenizer.pyx does (`_split_affixes`, `_attach_tokens`, then the
special-case matcher that re-merges "):" and ":)"). spaCy lists its letters and symbols by hand; we derive the
same sets from Unicode categories (identical on Python 3.11's Unicode 14). Tokens are identical to spaCy's on all
2,287 documents of bench/quality/parity_filters.py and on 2,000+ real texts in tests/test_spacy_parity.py (spaCy
itself, in CI); the one known difference is in tests/test_parity_cases.py. Each
chunk between whitespace is tokenized once per process and memoized (spaCy caches too): ~10x spaCy's speed; work
and memory per chunk are bounded (MAX_CHUNK_CHARS, MAX_CACHED_CHARS below).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cached_property
from itertools import chain

from core.bounded_cache import ByteBoundedMemo

PARAGRAPH_BREAK = re.compile(r"\n{2,}")
LINE_BREAKS = re.compile(r"\n+")

# ---- spaCy's character classes (spacy/lang/char_classes.py), as lists of code point ranges ----
_LATIN = [(0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x2AF), (0x1D00, 0x1D25), (0x1D6B, 0x1D9A), (0x1E00, 0x1EFF)]
_LATIN += [(0x2C60, 0x2C7F), (0xA722, 0xA7B9), (0xA7FA, 0xA7FA), (0xAB30, 0xAB64), (0xFF21, 0xFF5A)]
_OTHER_LOWER = "ʔёа-яіїєґәөүҗңһѓѕјљњќѐѝα-ωάέίόώήύ"  # Russian, Ukrainian, Tatar, Macedonian, Greek
_OTHER_UPPER = "ЁА-ЯІЇЄҐӘӨҮҖҢҺЃЅЈЉЊЌЀЍΑ-ΩΆΈΊΌΏΉΎ"
_UNCASED = (  # Ethiopic, Bengali, Hebrew, Persian, Sinhala, Hindi, Kannada, Tamil, Telugu, Hangul, Kana, CJK
    "\u1200-\u137f\u0980-\u09ff\u0591-\u05f4\ufb1d-\ufb4f\u0620-\u064a\u066e-\u06d5\u06e5-\u06ff\u0750-\u077f"
    "\u08a0-\u08bd\ufb50-\ufbb1\ufbd3-\ufd3d\ufd50-\ufdc7\ufdf0-\ufdfb\ufe70-\ufefc\U0001ee00-\U0001eebb"
    "\u0d80-\u0dff\u0900-\u097f\u0c80-\u0cff\u0b80-\u0bff\u0c00-\u0c7f\uac00-\ud7af\u1100-\u11ff\u3040-\u309f"
    "\u30a0-\u30ffー\u4e00-\u9fff\u3400-\u4dbf\U00020000-\U0002a6df\U0002a700-\U0002ebef\u2e80-\u2eff"
    "\u2f00-\u2fdf\u2ff0-\u2fff\u3000-\u303f\u31c0-\u31ef\u3200-\u33ff\uf900-\ufaff\ufe30-\ufe4f"
    "\U0001f200-\U0001f2ff\U0002f800-\U0002fa1f"
)
_PUNCT = r"… …… , : ; \! \? ¿ ؟ ¡ \( \) \[ \] \{ \} < > _ # \* & 。 ？ ！ ， 、 ； ： ～ · । ، ۔ ؛ ٪".split()
_QUOTES = r"""\' " ” “ ` ‘ ´ ’ ‚ , „ » « 「 」 『 』 （ ） 〔 〕 【 】 《 》 〈 〉 〈 〉 ⟦ ⟧""".split()
_HYPHENS = "-|–|—|--|---|——|~"
_CURRENCY = r"\$ £ € ¥ ฿ US\$ C\$ A\$ ₽ ﷼ ₴ ₠ ₡ ₢ ₣ ₤ ₥ ₦ ₧ ₨ ₩ ₪ ₫ € ₭ ₮ ₯ ₰ ₱ ₲ ₳ ₴ ₵ ₶ ₷ ₸ ₹ ₺ ₻ ₼ ₽ ₾ ₿".split()
_UNITS = (  # sic: "тбكم" is one unit in spaCy's list (a missing space)
    "km km² km³ m m² m³ dm dm² dm³ cm cm² cm³ mm mm² mm³ ha µm nm yd in ft kg g mg µg t lb oz m/s km/h kmh mph "
    "hPa Pa mbar mb MB kb KB gb GB tb TB T G M K % км км² км³ м м² м³ дм дм² дм³ см см² см³ мм мм² мм³ нм кг г "
    "мг м/с км/ч кПа Па мбар Кб КБ кб Мб МБ мб Гб ГБ гб Тб ТБ тбكم كم² كم³ م م² م³ سم سم² سم³ مم مم² مم³ كم غرام "
    "جرام جم كغ ملغ كوب اكواب"
).split()
_ELLIPSES = [r"\.\.+", "…"]


def _spans(spec: str) -> list[tuple[int, int]]:
    """spaCy's class notation ("a-zä") as code point ranges; a "-" not between two characters is itself."""
    return [(ord(m[1]), ord(m[2] or m[1])) for m in re.finditer(r"(.)(?:-(.))?", spec, re.S)]


def _letters(*categories: str) -> list[tuple[int, int]]:
    return [(c, c) for a, b in _LATIN for c in range(a, b + 1) if unicodedata.category(chr(c)) in categories]


def _class(*parts: list[tuple[int, int]]) -> str:
    """A regex class for the union of `parts`. Python's re makes a bitmap of a class only if all of it is in
    the BMP (else it tests range by range: ~20 us a search), so characters past U+FFFF get a class of their own."""
    merged: list[tuple[int, int]] = []
    for a, b in sorted(r for part in parts for r in part):
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    item = "\\U{:08x}-\\U{:08x}".format
    bmp = "".join(item(a, min(b, 0xFFFF)) for a, b in merged if a <= 0xFFFF)
    astral = "".join(item(max(a, 0x10000), b) for a, b in merged if b > 0xFFFF)
    return f"(?:[{bmp}]|[{astral}])" if astral else f"[{bmp}]"


_LOWER_SPANS = _letters("Ll") + _spans(_OTHER_LOWER + _UNCASED)
_UPPER_SPANS = _letters("Lu") + _spans(_OTHER_UPPER + _UNCASED)
_ALPHA_SPANS = _letters("Ll", "Lu", "Lt") + _spans("ƻ" + _OTHER_LOWER + _OTHER_UPPER + _UNCASED)
# spaCy's symbols are Unicode's "So" characters as of Unicode 11; Python 3.11 knows these newer ones too:
_NEWER_SO = """166D 2B97 2BC9 2BFF 2E50-2E51 32FF FD40-FD4F FDCF FDFE-FDFF 1019C 11FD5-11FDC 11FE1-11FF1 1CF50-1CFC3
1D1E9-1D1EA 1E14F 1ED2E 1F10D-1F10F 1F16C-1F16F 1F1AD 1F6D5-1F6D7 1F6DD-1F6DF 1F6FA-1F6FC 1F7E0-1F7EB 1F7F0 1F8B0-1F8B1
1F90C-1F90F 1F93F 1F971-1F972 1F977-1F979 1F97B 1F9A3-1F9AF 1F9BA-1F9BF 1F9C3-1F9CF 1FA00-1FA53"""
_NEWER = {c for r in _NEWER_SO.split() for c in range(int(r[:5].strip("-"), 16), int(r.split("-")[-1], 16) + 1)}
_ICON_SPANS = [(c, c) for c in range(0xA6, 0x1FA6E) if unicodedata.category(chr(c)) == "So" and c not in _NEWER]
_QUOTE_SPANS = [(ord(q[-1]),) * 2 for q in _QUOTES]
_LOWER, _UPPER, _ALPHA, _ICON = map(_class, (_LOWER_SPANS, _UPPER_SPANS, _ALPHA_SPANS, _ICON_SPANS))
_ALNUM = _class(_ALPHA_SPANS, [(0x30, 0x39)])
_PUNCT_SPANS = _spans("".join(p[-1] for p in _PUNCT) + "|(?:)")  # spaCy's class [{PUNCT}(?:{q})]: "|".join
_BEFORE_DOT = _class([(0x30, 0x39)], _LOWER_SPANS, _spans("%²+-"), _PUNCT_SPANS, _QUOTE_SPANS)
_PREFIXES = ["§", "%", "=", "—", "–", r"\+(?![0-9])", *_PUNCT, *_ELLIPSES, *_QUOTES, *_CURRENCY, _ICON]
_SUFFIXES = [*_PUNCT, *_ELLIPSES, *_QUOTES, _ICON, "'s", "'S", "’s", "’S", "—", "–", r"(?<=[0-9])\+"]
_SUFFIXES += [r"(?<=°[FfCcKk])\.", rf"(?<=[0-9])(?:{'|'.join(_CURRENCY)})", rf"(?<=[0-9])(?:{'|'.join(_UNITS)})"]
_SUFFIXES += [rf"(?<={_BEFORE_DOT})\.", rf"(?<={_UPPER}{_UPPER})\."]
_LOWER_Q, _UPPER_Q = _class(_LOWER_SPANS, _QUOTE_SPANS), _class(_UPPER_SPANS, _QUOTE_SPANS)
_INFIXES = [*_ELLIPSES, _ICON, r"(?<=[0-9])[+\-\*^](?=[0-9-])", rf"(?<={_LOWER_Q})\.(?={_UPPER_Q})"]
_INFIXES += [rf"(?<={_ALPHA}),(?={_ALPHA})", rf"(?<={_ALNUM})(?:{_HYPHENS})(?={_ALPHA})"]
_INFIXES += [rf"(?<={_ALNUM})[:<>=/](?={_ALPHA})"]
_PREFIX = re.compile("|".join("^" + p for p in _PREFIXES)).match  # every branch is anchored: match == search
_SUFFIX = re.compile("|".join(p + "$" for p in _SUFFIXES)).search
_INFIX = re.compile("|".join(_INFIXES)).finditer
# Shortcuts that keep spaCy's answers: a suffix is at most _SUFFIX_SPAN characters long unless it is a run of
# dots; every infix rule needs one of the characters of _HAS_INFIX; a URL needs a dot.
_SUFFIX_SPAN = max(len(s.replace("\\", "")) for s in _PUNCT + _QUOTES + _CURRENCY + _UNITS + ["'s"])
_DOTS = re.compile(r"\.\.+$").search
_HAS_INFIX = re.compile(_class(_spans(".…,~+*^:<>=/–—-"), _ICON_SPANS)).search
_URL = re.compile(  # spacy/lang/tokenizer_exceptions.py URL_PATTERN (Diego Perini's, MIT licence)
    r"(?u)^(?:(?:[\w\+\-\.]{2,})://)?(?:\S+(?::\S*)?@)?(?:(?!(?:10|127)(?:\.\d{1,3}){3})"
    r"(?!(?:169\.254|192\.168)(?:\.\d{1,3}){2})(?!172\.(?:1[6-9]|2\d|3[0-1])(?:\.\d{1,3}){2})(?:[1-9]\d?|1\d\d"
    r"|2[01]\d|22[0-3])(?:\.(?:1?\d{1,2}|2[0-4]\d|25[0-5])){2}(?:\.(?:[1-9]\d?|1\d\d|2[0-4]\d|25[0-4]))|(?:(?:"
    r"[A-Za-z0-9\u00a1-\uffff][A-Za-z0-9\u00a1-\uffff_-]{0,62})?[A-Za-z0-9\u00a1-\uffff]\.)+"
    rf"(?:{_LOWER}{{2,63}}))(?::\d{{2,5}})?(?:[/?#]\S*)?$"
).match

# ---- spaCy's English tokenizer exceptions (spacy/lang/en/tokenizer_exceptions.py, lang/tokenizer_exceptions.py) ----
_EMOTICONS = r"""(*_*) (-8 (-: (-; (-_-) (._.) (: (; (= (>_<) (^_^) (o: (¬_¬) (ಠ_ಠ) (╯°□°）╯︵┻━┻ )-: ): -_- -__-
._. 0.0 0.o 0_0 0_o 8) 8-) 8-D 8D :'( :') :'-( :'-) :( :(( :((( :() :) :)) :))) :* :-( :-(( :-((( :-) :-)) :-)))
:-* :-/ :-0 :-3 :-> :-D :-O :-P :-X :-] :-o :-p :-x :-| :-} :/ :0 :1 :3 :> :D :O :P :X :] :o :o) :p :x :| :} ;)
;-) ;-D ;D ;_; <.< </3 <3 <33 <333 =( =) =/ =3 =D =[ =] =| >.< >.> >:( >:o ><(((*> @_@ O.O O.o O_O O_o V.V V_V
XD XDD [-: [: [= ]= ^_^ ^__^ ^___^ o.0 o.O o.o o_0 o_O o_o v.v v_v xD xDD ¯\(ツ)/¯ ಠ_ಠ ಠ︵ಠ"""
_WHOLE = r"""' \") <space> '' C++ \t \n — ä. ö. ü. 'S 's ‘S ‘s and/or w/o 're 'Cause 'cause 'cos 'Cos 'coz 'Coz 'cuz
'Cuz 'bout ma'am Ma'am o'clock O'clock 'd a.m. p.m. Adm. Bros. co. Co. Corp. D.C. Dr. e.g. E.g. E.G. Gen. Gov. i.e.
I.e. I.E. Inc. Jr. Ltd. Md. Messrs. Mo. Mont. Mr. Mrs. Ms. Ph.D. Prof. Rep. Rev. Sen. St. vs. v.s. Mt. Ak. Ala. Apr.
Ariz. Ark. Aug. Calif. Colo. Conn. Dec. Del. Feb. Fla. Ga. Ia. Id. Ill. Ind. Jan. Jul. Jun. Kan. Kans. Ky. La. Mar.
Mass. Mich. Minn. Miss. N.C. N.D. N.H. N.J. N.M. N.Y. Neb. Nebr. Nev. Nov. Oct. Okla. Ore. Pa. S.C. Sep. Sept. Tenn.
Va. Wash. Wis. em 'em ll 'll nuff 'nuff"""
_SPLIT = """y' all|y all|how 'd 'y|How 'd 'y|not 've|not ve|Not 've|Not ve|can not|Can not|gon na|Gon na|got ta|Got ta
let 's|Let 's|c'm on|C'm on|° C .|° c .|° F .|° f .|° K .|° k ."""
# Contractions after pronouns, wh-words and verbs, spelled with and without the apostrophe.
_ENDINGS = {"m": "'m|m|'m a|m a", "ll": "'ll|ll|'ll 've|ll ve", "d": "'d|d|'d 've|d ve", "ve": "'ve|ve"}
_ENDINGS |= {"re": "'re|re", "s": "'s|s", "not": "n't|nt|n't 've|nt ve", "n't": "n't|nt"}
_TAKES = [("i", "m ll d ve"), ("you", "ll d ve re"), ("he she it", "ll d s"), ("we they", "ll d ve re")]
_TAKES += [
    ("who what when where why how there", "s ll re ve d"),
    ("that this", "s ll d"),
    ("these those", "ll re ve d"),
]
_TAKES += [("ca could do does did had may might must need ought sha should wo would", "not")]
_TAKES += [("could might must should would", "ve"), ("ai are is was were have has dare", "n't")]
_NOT_SPLIT = "Ill ill Its its Hell hell Shell shell Shed shed were Were Well well Whore whore".split()


def _exceptions() -> dict[str, tuple[str, ...]]:
    exc: dict[str, tuple[str, ...]] = {}
    for orth in _EMOTICONS.split() + _WHOLE.split() + [f"{c}." for c in "abcdefghijklmnopqrstuvwxyz"]:
        exc[orth] = (orth,)
    for word in "doin goin nothin nuthin ol somethin lovin havin".split():
        for w in (word, word.title()):
            exc[w], exc[w + "'"] = (w,), (w + "'",)
    for words, endings in _TAKES:
        for w in words.split() + words.title().split():
            for part in "|".join(_ENDINGS[e] for e in endings.split()).split("|"):
                exc[w + part.replace(" ", "")] = (w, *part.split())
    for h in range(1, 13):
        for period in ("a.m.", "am", "p.m.", "pm"):
            exc[f"{h}{period}"] = (str(h), period)
    for split in _SPLIT.replace("\n", "|").split("|"):
        exc[split.replace(" ", "")] = tuple(split.split())
    for orth in _NOT_SPLIT:
        exc.pop(orth, None)
    exc.update({k.replace("'", "’"): tuple(t.replace("'", "’") for t in v) for k, v in exc.items() if "'" in k})
    return exc


SPECIAL_CASES = _exceptions()
_LONGEST_SPECIAL = max(map(len, SPECIAL_CASES))


def _affixes(string: str, specials: dict) -> list[str]:
    """spaCy's `_split_affixes` + `_attach_tokens` for one whitespace-free chunk."""
    prefixes: list[str] = []
    suffixes: list[str] = []
    last = -1
    # A longer string is in no table: it need not be hashed (O(n) a step)
    longest = _LONGEST_SPECIAL if specials is SPECIAL_CASES else max(map(len, specials), default=0)
    while string and len(string) != last and not (len(string) <= longest and string in specials):
        if string.isalpha():
            break
        last = len(string)
        match = _PREFIX(string)
        pre = match.end() if match else 0
        rest = string[pre:]
        suf = 0 if pre and len(rest) <= longest and rest in specials else _suffix_length(rest)
        if suf and len(string) - suf <= longest and string[:-suf] in specials:
            pre = 0  # spaCy takes the suffix alone here
        elif pre + suf > len(string):
            suf = 0  # overlapping: the prefix alone
        if pre:
            prefixes.append(string[:pre])
        if suf:
            suffixes.append(string[-suf:])
        string = string[pre : len(string) - suf]
    return prefixes + _attach(string, specials) + suffixes[::-1]


def _suffix_length(string: str) -> int:
    """len(spaCy's suffix_search(string)): the leftmost position where a suffix rule matches to the end."""
    dots = _DOTS(string) if string.endswith("..") else None  # a search from the start: only where it can match
    if dots and dots.start() < len(string) - _SUFFIX_SPAN:
        return len(string) - dots.start()
    match = _SUFFIX(string, max(0, len(string) - _SUFFIX_SPAN))  # lookbehinds still see the whole string
    return len(string) - match.start() if match else 0


def _attach(string: str, specials: dict) -> list[str]:
    if string in specials:
        return list(specials[string])
    if not _HAS_INFIX(string) or ("." in string and _URL(string)):  # spaCy: a URL is never split
        return [string] if string else []
    tokens, start = [], 0
    for match in _INFIX(string):
        if match.start() == 0:
            continue
        if match.start() != start:
            tokens.append(string[start : match.start()])
        if match.end() != match.start():
            tokens.append(match.group())
        start = match.end()
    if start < len(string):
        tokens.append(string[start:])
    return tokens


# Special cases that affix splitting takes apart, as the tokens it gives: spaCy's PhraseMatcher merges them back.
_MERGES = {tuple(_affixes(k, {})): k for k in SPECIAL_CASES if _PREFIX(k) or _SUFFIX(k) or next(_INFIX(k), None)}
_MERGE_LENGTHS = sorted({len(tokens) for tokens in _MERGES}, reverse=True)
_MERGE_FIRST = frozenset(tokens[0] for tokens in _MERGES)


def _merge_specials(tokens: list[str]) -> list[str]:
    """spaCy's `_apply_special_cases` within one chunk: longest first, then leftmost, no overlaps."""
    if _MERGE_FIRST.isdisjoint(tokens):
        return tokens
    found = [(i, n) for n in _MERGE_LENGTHS for i in range(len(tokens) - n + 1) if tuple(tokens[i : i + n]) in _MERGES]
    kept, seen = [], set()
    for start, n in found:  # already longest first, then leftmost
        if start not in seen and start + n - 1 not in seen:
            kept.append((start, n))
        seen.update(range(start, start + n))
    out, i = [], 0
    for start, n in sorted(kept):
        out += tokens[i:start] + list(SPECIAL_CASES[_MERGES[tuple(tokens[start : start + n])]])
        i = start + n
    return out + tokens[i:]


# Work and memory per chunk are bounded. Affix splitting strips one prefix or suffix per step and copies the
# rest, so it is quadratic in a chunk's length (a 1 MB run of "(" took ~280 CPU-s, 4.4 now): a chunk longer than
# MAX_CHUNK_CHARS is split as consecutive pieces of that length (no word or URL of real text is that long; spaCy's
# tokens differ only at the cuts; 1 of 1,877 real texts has a chunk over 1,000 characters, a URL). The memo
# holds chunks up to MAX_CACHED_CHARS and at most CACHE_BYTES in all: a memo bounded in entries alone kept ~20 MB
# per distinct long chunk, in a worker process reused across files.
MAX_CHUNK_CHARS = 10_000
MAX_CACHED_CHARS = 64
CACHE_BYTES = 64 << 20


def chunk_words(chunk: str) -> tuple[str, ...]:
    """The spaCy tokens of one whitespace-free chunk."""
    return _memo(chunk)


def _pieces_words(chunk: str) -> tuple[str, ...]:
    """A chunk's tokens, as consecutive pieces of at most MAX_CHUNK_CHARS."""
    if len(chunk) <= MAX_CHUNK_CHARS:
        return _chunk_words(chunk)
    pieces = (chunk[i : i + MAX_CHUNK_CHARS] for i in range(0, len(chunk), MAX_CHUNK_CHARS))
    return tuple(chain.from_iterable(map(_chunk_words, pieces)))


def _chunk_words(chunk: str) -> tuple[str, ...]:
    if chunk in SPECIAL_CASES:
        return SPECIAL_CASES[chunk]
    if chunk.isalpha():  # no rule splits letters: prefixes, infixes and URLs need a symbol, suffixes a digit too
        return (chunk,)
    word = chunk[:-1]  # "word," "word." ...: the commonest other shape, one suffix after letters
    if word.isalpha() and word not in SPECIAL_CASES and not _PREFIX(chunk) and _suffix_length(chunk) == 1:
        return (word, chunk[-1])
    tokens = _affixes(chunk, SPECIAL_CASES)
    return tuple(_merge_specials(tokens) if len(tokens) > 1 else tokens)


_memo = ByteBoundedMemo(_pieces_words, CACHE_BYTES, MAX_CACHED_CHARS)


def split_words(text: str) -> list[str]:
    """datatrove's English `split_into_words`: blank spaCy's tokens without the whitespace ones."""
    return list(chain.from_iterable(_memo.map(text.split())))


class Doc:
    """A document as the filters see it. Views are computed on first use; `rewrite` starts over."""

    def __init__(self, text: str, url: str | None = None):
        self.text = text
        self.url = url

    def rewrite(self, text: str) -> None:
        """A line-editing filter (c4_quality) changed the text: later filters see the new one."""
        for view in ("lines", "nonempty_lines", "paragraphs", "words", "word_set", "non_symbol_words"):
            self.__dict__.pop(view, None)
        self.text = text

    @cached_property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    @cached_property
    def nonempty_lines(self) -> list[str]:
        return [line for line in self.text.split("\n") if line.strip()]

    @cached_property
    def paragraphs(self) -> list[str]:
        return PARAGRAPH_BREAK.split(self.text.strip())

    @cached_property
    def words(self) -> list[str]:
        return split_words(self.text)

    @cached_property
    def word_set(self) -> set[str]:
        return set(self.words)

    @cached_property
    def non_symbol_words(self) -> list[str]:
        return [w for w in self.words if w.isalpha() or w.strip(PUNCTUATION)]  # not all symbols; no letter is one


# datatrove's utils/text.py PUNCTUATION (Gopher's "symbol" words are made only of these characters).
PUNCTUATION = "!/—”:％１〈&(、━\\【#%「」，】；+^]~“《„';’{|∶´[=-`*．（–？！：$～«〉,><》)?）。…@_.\"}►»" + "".join(
    map(chr, (x for a, b in ((0, 9), (11, 13), (13, 32), (127, 160)) for x in range(a, b)))
)
PUNCTUATION_SET = frozenset(PUNCTUATION)

"""Rule-based text classification: is an inbound post a complaint, is a company reply a deflection?

A lexicon of per-language phrasings (``chalicelib/domain/lexicon/*.json``) instead of a trained model:
every decision can be traced to a phrase a reviewer can read and argue with, it needs no dependency in
the Lambda package, and it runs over a million posts in seconds. The rules and their limits are in
docs/methodology-classification.md; the measured precision/recall in docs/classifier-evaluation.md.

The lexicon files ship inside the package and are read once, lazily; that is loading code's data, not
I/O on the outside world, so this module stays pure.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from operator import itemgetter

try:  # the standard library's own regex parser: what a pattern requires is read off its parse tree
    from re import _constants as _sre_c
    from re import _parser as _sre_p
except ImportError:  # pragma: no cover - another Python: no pre-filter, every pattern is always run
    _sre_c = _sre_p = None

from chalicelib.domain.models import Category, ReplyKind

__all__ = [
    "LANGUAGES",
    "ReplyEvidence",
    "classify_inbound",
    "classify_reply",
    "detect_language",
    "explain_reply",
    "normalise",
]

UNIVERSAL = "xx"  # cues shared by every language ("DM", an e-mail address)
LANGUAGES: tuple[str, ...] = ("de", "en", "es", "fi", "fr", "it", "lv", "pl")
CATEGORIES: tuple[str, ...] = ("deflection", "masked", "substantive", "complaint", "praise", "spam", "chatter")

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w@.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# "@" first, its own look-behind after it (same matches as "(?<![\w@])@…"), so the engine can jump from "@" to "@"
_HANDLE = re.compile(r"@(?<![\w@]@)[\w.]+(?:@[\w.-]+)?")  # @user, @user@instance (Mastodon), @name.bsky.social
_NON_WORD = re.compile(r"[^a-z0-9]+")
_WORD_BYTES = bytes(c if 97 <= c <= 122 or 48 <= c <= 57 else 32 for c in range(256))  # others become spaces
_EMAIL_AT = re.compile(r"[\w.+-]@[\w-]+\.[\w-]")  # what every _EMAIL match holds around its "@"
_COMBINING = re.compile("[\u0300-\u036f]")  # accents NFKD splits off Latin letters
# Letters NFKD does not decompose into a base letter plus accent.
_SPECIAL = {"ł": "l", "ø": "o", "đ": "d", "æ": "ae", "œ": "oe", "ı": "i", "ß": "ss", "þ": "th"}
_SPECIAL_RE = re.compile(f"[{''.join(_SPECIAL)}]")  # a regex scan is ~20x faster than str.translate here
_GAP = r"(?: [a-z0-9]+){0,4}"  # what a lone "~" in a pattern stands for
# " (a|b)?" -> the group is optional *with* its leading space; "(a )?" already carries its own space.
_OPTIONAL_WORDS = re.compile(r" \(((?:[^()]|\([^()]*\))*[^ ()]|(?:[^()]|\([^()]*\))*\))\)\?")
_STEM = re.compile(r"(?<=[a-z0-9])\*")
_NEVER = re.compile(r"(?!)")
_DIACRITIC_HINTS = {
    "pl": "ąćęłńśźż",
    "lv": "āēīūķļņģ",
    "es": "ñ¿¡",
    "de": "ß",
    "fr": "çœêû",
    "it": "ìò",
}


def _fold(text: str) -> str:
    text = text.casefold()
    if text.isascii():
        return text
    text = _SPECIAL_RE.sub(lambda m: _SPECIAL[m.group(0)], text)
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text))


def _may_hold_email(text: str) -> bool:
    """False only when no "@" has an address around it: then the (slow to scan) _EMAIL cannot match."""
    at = text.find("@", 1)
    while at != -1:
        if _EMAIL_AT.match(text, at - 1):
            return True
        at = text.find("@", at + 1)
    return False


def normalise(text: str) -> str:
    """The form patterns are matched against: folded ASCII words separated by single spaces.

    URLs become ``zzurl`` and e-mail addresses ``zzemail`` (an address is itself a redirect cue), while
    @handles disappear: they name accounts, not intentions, and would otherwise match words.
    """
    lowered = text.lower()
    if "http" in lowered or "www." in lowered:
        text = _URL.sub(" zzurl ", text)
    if "@" in text:
        if _may_hold_email(text):
            text = _EMAIL.sub(" zzemail ", text)
        text = _HANDLE.sub(" ", text)
    folded = _fold(text)
    if folded.isascii():  # the usual case: a byte table does what _NON_WORD.sub does, several times faster
        return " ".join(folded.encode("ascii").translate(_WORD_BYTES).decode("ascii").split())
    return _NON_WORD.sub(" ", folded).strip()


def _pattern_regex(pattern: str) -> str:
    """Expand the lexicon shorthands (documented in lexicon/README.md) into a regular expression."""
    tokens = _fold(pattern.strip()).split(" ")
    out = tokens[0]
    for token in tokens[1:]:
        out += _GAP if token == "~" else " " + token
    out = _OPTIONAL_WORDS.sub(r"(?: (?:\1))?", out)
    return _STEM.sub("[a-z0-9]*", out)


@cache
def _lexicons() -> dict[str, dict[str, tuple[str, ...] | frozenset[str]]]:
    folder = resources.files(__package__).joinpath("lexicon")
    lexicons: dict[str, dict[str, tuple[str, ...] | frozenset[str]]] = {}
    for lang in (*LANGUAGES, UNIVERSAL):
        raw = json.loads(folder.joinpath(f"{lang}.json").read_text(encoding="utf-8"))
        entry: dict[str, tuple[str, ...] | frozenset[str]] = {
            name: tuple(_pattern_regex(p) for p in raw.get(name, ())) for name in CATEGORIES
        }
        entry["detect"] = frozenset(_fold(w) for w in raw.get("detect", ()))
        lexicons[lang] = entry
    return lexicons


def _languages_for(lang: str | None, text: str, norm: str) -> tuple[str, ...]:
    """Languages whose cues apply: the stated (or detected) one plus universal cues, else all of them.

    Matching one language is about ten times faster than matching all, and avoids false friends
    between languages; all languages are used only when neither the source nor detection names one.
    """
    code = (lang or "").strip().lower().replace("_", "-").split("-")[0]
    if code not in LANGUAGES:
        code = _detect(text, norm) or ""
    if code in LANGUAGES:
        return (code, UNIVERSAL)
    return (*LANGUAGES, UNIVERSAL)


@cache
def _matcher(langs: tuple[str, ...], category: str) -> re.Pattern[str]:
    patterns = [p for lang in langs for p in _lexicons()[lang][category]]
    if not patterns:
        return _NEVER
    body = "|".join(f"(?:{p})" for p in patterns)
    return re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])")


# --- the word pre-filter ---------------------------------------------------------------------------------------
# A lexicon has ~140 patterns per category and language, and a text matches almost none of them. Each pattern
# requires one of a few literal words (a whole token, a token prefix for stems, at worst a substring), derived
# from its parse tree, so the words of a text name the only patterns that can match it. The matcher built from
# those patterns, in lexicon order, finds exactly the matches the full matcher finds: a pattern that cannot
# match anywhere in the text never wins an alternation anywhere. tests/unit/test_classify_prefilter.py checks
# the derivation and the equivalence.

_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_TOKEN, _PREFIX, _SUBSTRING = "token", "prefix", "substring"
Requirement = frozenset[tuple[str, str]]  # any one of these (kind, literal) must occur in the normalised text


def _starts_bounded(items: list, i: int, bounded_after: bool) -> bool:
    """Does whatever ``items[i:]`` matches start with a non-word character (or end where a boundary is)?"""
    if i >= len(items):
        return bounded_after
    op, av = items[i]
    if op is _sre_c.LITERAL:
        return chr(av) not in _WORD_CHARS
    if op is _sre_c.SUBPATTERN:
        return av[1] == 0 and _starts_bounded([*av[3], *items[i + 1 :]], 0, bounded_after)
    if op is _sre_c.BRANCH:
        return all(_starts_bounded([*alt, *items[i + 1 :]], 0, bounded_after) for alt in av[1])
    if op in (_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT):
        low, high, body = av
        if high == 0:
            return _starts_bounded(items, i + 1, bounded_after)
        body_bounded = _starts_bounded(list(body), 0, False)
        return body_bounded and (low > 0 or _starts_bounded(items, i + 1, bounded_after))
    return False


def _ends_bounded(items: list, j: int, bounded_before: bool) -> bool:
    """Does whatever ``items[:j]`` matches end with a non-word character (or start where a boundary is)?"""
    if j <= 0:
        return bounded_before
    op, av = items[j - 1]
    if op is _sre_c.LITERAL:
        return chr(av) not in _WORD_CHARS
    if op is _sre_c.SUBPATTERN:
        return av[1] == 0 and _ends_bounded([*items[: j - 1], *av[3]], j - 1 + len(av[3]), bounded_before)
    if op is _sre_c.BRANCH:
        return all(_ends_bounded([*items[: j - 1], *alt], j - 1 + len(alt), bounded_before) for alt in av[1])
    if op in (_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT):
        low, high, body = av
        if high == 0:
            return _ends_bounded(items, j - 1, bounded_before)
        body_bounded = _ends_bounded(list(body), len(body), False)
        return body_bounded and (low > 0 or _ends_bounded(items, j - 1, bounded_before))
    return False


def _cost(requirement: Requirement) -> int:
    """Lower is more selective: whole long words beat prefixes, short words and substrings."""
    weights = {_TOKEN: 1, _PREFIX: 2, _SUBSTRING: 40}
    return sum(weights[kind] + (4 if len(word) <= 3 else 0) for kind, word in requirement)


def _sequence_requirement(items: list, bounded_before: bool, bounded_after: bool) -> Requirement | None:
    """The most selective requirement among the parts every match of ``items`` contains, or None."""
    found: list[Requirement] = []
    run: list[str] = []
    run_start = 0

    def flush(end: int) -> None:
        parts = "".join(run).split(" ")
        left_edge = _ends_bounded(items, run_start, bounded_before)
        right_edge = _starts_bounded(items, end, bounded_after)
        for k, word in enumerate(parts):
            if not word:
                continue
            left = left_edge if k == 0 else True
            right = right_edge if k == len(parts) - 1 else True
            kind = _TOKEN if left and right else _PREFIX if left else _SUBSTRING
            found.append(frozenset({(kind, word)}))

    for i, (op, av) in enumerate(items):
        if op is _sre_c.LITERAL:
            if not run:
                run_start = i
            run.append(chr(av))
            continue
        if run:
            flush(i)
            run = []
        required: Requirement | None = None
        if op is _sre_c.SUBPATTERN and av[1] == 0:
            required = _sequence_requirement(
                list(av[3]), _ends_bounded(items, i, bounded_before), _starts_bounded(items, i + 1, bounded_after)
            )
        elif op is _sre_c.BRANCH:
            before, after = _ends_bounded(items, i, bounded_before), _starts_bounded(items, i + 1, bounded_after)
            alternatives = [_sequence_requirement(list(alt), before, after) for alt in av[1]]
            if all(alternatives):
                required = frozenset().union(*alternatives)
        elif op in (_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT) and av[0] >= 1:
            required = _sequence_requirement(list(av[2]), False, False)
        if required:
            found.append(required)
    if run:
        flush(len(items))
    return min(found, key=_cost) if found else None


def pattern_requirement(regex: str) -> Requirement | None:
    """What any match of an expanded lexicon pattern must contain, or None when nothing is certain.

    Matches are anchored at word boundaries (see :func:`_matcher`), so a literal word between spaces is a
    whole token of the text, a literal word before a stem is a token prefix, and any other literal is at
    least a substring.
    """
    if _sre_p is None:
        return None
    try:
        parsed = _sre_p.parse(regex)
    except re.error:
        return None
    if parsed.state.flags & ~re.UNICODE or _has_backrefs(list(parsed)):
        return None
    return _sequence_requirement(list(parsed), True, True)


def _has_backrefs(items: list) -> bool:
    for op, av in items:
        if op in (_sre_c.GROUPREF, _sre_c.GROUPREF_EXISTS):
            return True
        if op is _sre_c.SUBPATTERN and _has_backrefs(list(av[3])):
            return True
        if op is _sre_c.BRANCH and any(_has_backrefs(list(alt)) for alt in av[1]):
            return True
        if op in (_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT) and _has_backrefs(list(av[2])):
            return True
    return False


_HEADS = {n: itemgetter(slice(None, n)) for n in range(4)}  # w[:n] over many words, without a Python loop


@dataclass(frozen=True, slots=True)
class _Prefilter:
    """Pattern positions (bits, one per pattern of every category, in lexicon order) by required literal."""

    offsets: dict[str, tuple[int, int]]  # category -> (first bit, number of patterns)
    patterns: dict[str, tuple[str, ...]]
    always: int
    tokens: dict[str, int]
    prefixes: dict[str, tuple[tuple[str, int], ...]]  # by first three letters
    short_prefixes: tuple[tuple[int, dict[str, int]], ...]  # (length, bits by prefix) below three letters
    substrings: tuple[tuple[str, int], ...]
    token_keys: frozenset[str] = frozenset()
    prefix_keys: frozenset[str] = frozenset()

    def candidates(self, norm: str) -> int:
        """Bits of the patterns that may match ``norm`` (set operations; Python loops only over hits)."""
        bits = self.always
        words = set(norm.split())
        tokens = self.tokens
        for word in words.intersection(self.token_keys):
            bits |= tokens[word]
        prefixes = self.prefixes
        for head in self.prefix_keys.intersection(map(_HEADS[3], words)):
            for prefix, b in prefixes[head]:
                if len(prefix) == 3 or any(w.startswith(prefix) for w in words):
                    bits |= b
        for length, short in self.short_prefixes:
            for head in short.keys() & set(map(_HEADS[length], words)):
                bits |= short[head]
        for literal, b in self.substrings:
            if literal in norm:
                bits |= b
        return bits

    def of(self, bits: int, category: str) -> int:
        first, count = self.offsets[category]
        return (bits >> first) & ((1 << count) - 1)


@cache
def _prefilter(langs: tuple[str, ...]) -> _Prefilter:
    offsets: dict[str, tuple[int, int]] = {}
    patterns: dict[str, tuple[str, ...]] = {}
    always = 0
    tokens: dict[str, int] = {}
    prefixes: dict[str, dict[str, int]] = {}
    substrings: dict[str, int] = {}
    bit = 0
    for category in CATEGORIES:
        own = tuple(p for lang in langs for p in _lexicons()[lang][category])
        offsets[category], patterns[category] = (bit, len(own)), own
        for regex in own:
            b = 1 << bit
            bit += 1
            requirement = pattern_requirement(regex)
            if requirement is None:
                always |= b
                continue
            for kind, word in requirement:
                if kind == _TOKEN:
                    tokens[word] = tokens.get(word, 0) | b
                elif kind == _PREFIX:
                    bucket = prefixes.setdefault(word[:3], {})
                    bucket[word] = bucket.get(word, 0) | b
                else:
                    substrings[word] = substrings.get(word, 0) | b
    by_head = {k: tuple(v.items()) for k, v in prefixes.items() if len(k) == 3}
    return _Prefilter(
        offsets, patterns, always, tokens, by_head,
        tuple(
            (n, {w: b for k, v in prefixes.items() if len(k) == n for w, b in v.items()})
            for n in sorted({len(k) for k in prefixes if len(k) < 3})
        ),
        tuple(substrings.items()), frozenset(tokens), frozenset(by_head),
    )


@lru_cache(maxsize=4096)
def _subset_matcher(langs: tuple[str, ...], category: str, bits: int) -> re.Pattern[str]:
    """The matcher of :func:`_matcher` restricted to the patterns whose bits are set, in the same order."""
    own = _prefilter(langs).patterns[category]
    chosen = [p for i, p in enumerate(own) if bits >> i & 1]
    if len(chosen) == len(own):
        return _matcher(langs, category)
    body = "|".join(f"(?:{p})" for p in chosen)
    return re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])")


@dataclass(frozen=True, slots=True)
class ReplyEvidence:
    """The phrases behind a reply decision, for audits and for the evaluation's error listing."""

    kind: ReplyKind
    deflection: tuple[str, ...]
    substantive: tuple[str, ...]


def explain_reply(text: str, lang: str | None = None) -> ReplyEvidence:
    """Classify a company reply and say which phrases decided it.

    The rule: a reply that contains substantive content (an action taken, a fix, a refund, an explanation,
    an instruction) is substantive even if it also asks to DM; a reply with only redirect cues ("DM us",
    "contact us via the website", "call us", "we can't help here") is a deflection; a reply with neither
    is substantive, because it answered in public without redirecting. "We've sent you a DM"-style
    phrases are redirects that look like actions, so they are blanked before substantive cues are sought.
    """
    norm = normalise(text)
    langs = _languages_for(lang, text, norm)
    redirects = [m.group(0) for m in _matcher(langs, "masked").finditer(norm)]
    if redirects:
        norm = _matcher(langs, "masked").sub(" ", norm)
    content = tuple(m.group(0) for m in _matcher(langs, "substantive").finditer(norm))
    redirects += [m.group(0) for m in _matcher(langs, "deflection").finditer(norm)]
    kind = ReplyKind.DEFLECTION if redirects and not content else ReplyKind.SUBSTANTIVE
    return ReplyEvidence(kind, tuple(redirects), content)


def classify_reply(text: str, lang: str | None = None) -> ReplyKind:
    """``deflection`` when a company reply only redirects the customer; otherwise ``substantive``.

    ``lang`` (ISO 639-1, region suffixes ignored) narrows the cues to that language plus universal ones;
    ``None`` or an unsupported code: the language is detected from the text (all languages' cues if
    nothing is detected).
    """
    norm = normalise(text)
    langs = _languages_for(lang, text, norm)
    pf = _prefilter(langs)
    # Blanking "masked" phrases only removes whole words, so the candidates found before still cover the rest.
    bits = pf.candidates(norm)
    masked = pf.of(bits, "masked")
    redirected = masked != 0 and _subset_matcher(langs, "masked", masked).search(norm) is not None
    if redirected:
        norm = _subset_matcher(langs, "masked", masked).sub(" ", norm)
    substantive = pf.of(bits, "substantive")
    if substantive and _subset_matcher(langs, "substantive", substantive).search(norm):
        return ReplyKind.SUBSTANTIVE
    if redirected:
        return ReplyKind.DEFLECTION
    deflection = pf.of(bits, "deflection")
    if deflection and _subset_matcher(langs, "deflection", deflection).search(norm):
        return ReplyKind.DEFLECTION
    return ReplyKind.SUBSTANTIVE


def classify_inbound(text: str, lang: str | None = None) -> Category:
    """Category of a post addressed to a company: spam, praise, chatter, or (by default) complaint.

    Order of rules: spam cues win (recovery scams and promotions hide among complaints); praise needs
    more praise cues than complaint cues ("thanks for nothing" is a complaint); chatter needs chatter
    cues and no complaint cue; anything else is a complaint, because a post addressed to a support
    account is presumed to ask for help unless it clearly does not.
    """
    norm = normalise(text)
    langs = _languages_for(lang, text, norm)
    pf = _prefilter(langs)
    bits = pf.candidates(norm)
    spam = pf.of(bits, "spam")
    if spam and _subset_matcher(langs, "spam", spam).search(norm):
        return Category.SPAM
    complaint, praise = pf.of(bits, "complaint"), pf.of(bits, "praise")
    complaints = sum(1 for _ in _subset_matcher(langs, "complaint", complaint).finditer(norm)) if complaint else 0
    praised = sum(1 for _ in _subset_matcher(langs, "praise", praise).finditer(norm)) if praise else 0
    if praised > complaints:
        return Category.PRAISE
    chatter = pf.of(bits, "chatter")
    if complaints == 0 and chatter and _subset_matcher(langs, "chatter", chatter).search(norm):
        return Category.CHATTER
    return Category.COMPLAINT


def detect_language(text: str) -> str | None:
    """Best guess among :data:`LANGUAGES` from function words and letters, or None if nothing points anywhere.

    Lexicon-based (each language's ``detect`` words) so it needs no dependency; classification uses it
    only when the source gives no usable language.
    """
    return _detect(text, normalise(text))


def _detect(text: str, norm: str) -> str | None:
    scores = dict.fromkeys(LANGUAGES, 0)
    hints = _letter_hints()
    for ch in set(text.casefold()).intersection(hints):
        scores[hints[ch]] += 3 * text.casefold().count(ch)
    words = _detect_words()
    for word in norm.split():
        for lang in words.get(word, ()):
            scores[lang] += 1
    best = max(LANGUAGES, key=scores.__getitem__)
    return best if scores[best] > 0 else None


@cache
def _letter_hints() -> dict[str, str]:
    return {ch: lang for lang, letters in _DIACRITIC_HINTS.items() for ch in letters}


@cache
def _detect_words() -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for lang in LANGUAGES:
        for word in _lexicons()[lang]["detect"]:
            index.setdefault(word, []).append(lang)
    return {word: tuple(langs) for word, langs in index.items()}

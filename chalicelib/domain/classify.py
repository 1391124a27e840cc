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
from functools import cache
from importlib import resources

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
_HANDLE = re.compile(r"(?<![\w@])@[\w.]+(?:@[\w.-]+)?")  # @user, @user@instance (Mastodon), @name.bsky.social
_NON_WORD = re.compile(r"[^a-z0-9]+")
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


def normalise(text: str) -> str:
    """The form patterns are matched against: folded ASCII words separated by single spaces.

    URLs become ``zzurl`` and e-mail addresses ``zzemail`` (an address is itself a redirect cue), while
    @handles disappear: they name accounts, not intentions, and would otherwise match words.
    """
    lowered = text.lower()
    if "http" in lowered or "www." in lowered:
        text = _URL.sub(" zzurl ", text)
    if "@" in text:
        text = _HANDLE.sub(" ", _EMAIL.sub(" zzemail ", text))
    return _NON_WORD.sub(" ", _fold(text)).strip()


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
    masked = _matcher(langs, "masked")
    redirected = masked.search(norm) is not None
    if redirected:
        norm = masked.sub(" ", norm)
    if _matcher(langs, "substantive").search(norm):
        return ReplyKind.SUBSTANTIVE
    if redirected or _matcher(langs, "deflection").search(norm):
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
    if _matcher(langs, "spam").search(norm):
        return Category.SPAM
    complaints = sum(1 for _ in _matcher(langs, "complaint").finditer(norm))
    praise = sum(1 for _ in _matcher(langs, "praise").finditer(norm))
    if praise > complaints:
        return Category.PRAISE
    if complaints == 0 and _matcher(langs, "chatter").search(norm):
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

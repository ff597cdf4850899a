"""Artist identity: which excerpts share an artist, for the artist filter and the confound attribution.

Artists are told apart by their names in the metadata, so the names must say who is one artist:

- one artist, several spellings: names that differ only in case, whitespace, punctuation, accents or ``&`` for
  ``and`` are one artist (:func:`artist_key`); the annotation readers merge them into one spelling and log it
  (:func:`canonical_artists`). Sturm's index spells ``Rage Against the Machine`` (metal.00095) and
  ``Rage Against The Machine`` (metal.00096-99), ``Earth, Wind & Fire`` (disco.00016) and
  ``Earth Wind and Fire`` (disco.00056, 00059).
- one credit, several artists: ``Lauryn Hill and Bob Marley`` (Sturm's index, reggae.00087) is an excerpt of Bob
  Marley and of Lauryn Hill. A credit names every artist it is made of (:func:`credited_artists`): each part of it
  between joiners (``and``, ``&``, ``,``, ``feat.``, ...: :data:`CREDIT_JOINER`) that is another excerpt's whole
  credit. Only whole credits count, so a band named with a joiner stays one artist (``KC and The Sunshine Band``
  names no ``KC`` unless an excerpt is credited to ``KC`` alone). Excerpts that name a common artist share it: the
  artist filter keeps them in one part (:func:`artist_groups`), and a test excerpt whose credit names an artist of
  the training part is ``artist_in_train`` (:mod:`mgrfaults.evaluation.attribution`).
- look-alike names (``Tosh, Peter`` and ``Peter Tosh``) may be one artist or two: kept apart, and said
  (:func:`look_alike_artists`).

``unknown:<track_id>`` placeholders (an excerpt of unknown artist) are each their own artist, never merged or named.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Iterable, Sequence

import pandas as pd

log = logging.getLogger(__name__)


def normalise_text(text: str) -> str:
    """Case-, whitespace- and punctuation-blind form: letters and digits of any script, casefolded.

    NFKC first, so that a composed and a decomposed accent (or a full-width letter) are one
    character; letters of every script are kept, so that two names in a non-Latin script do not
    both shrink to ``""`` (on ASCII text this is ``[^0-9a-z]`` removed after lower-casing).
    """
    return "".join(_word_runs(unicodedata.normalize("NFKC", str(text)).casefold()))


def _word_runs(text: str) -> list[str]:
    """The runs of letters, digits and the combining marks on them in ``text``: a vowel sign of Thai or Devanagari,
    which has no precomposed letter, is part of its word (``กิน`` is not ``กัน``, ``कमल`` not ``कोमल``: audit 57)."""
    runs, run = [], []
    for c in text:
        if c.isalnum() or (run and unicodedata.category(c).startswith("M")):
            run.append(c)
        elif run:
            runs.append("".join(run))
            run = []
    return runs + (["".join(run)] if run else [])


UNKNOWN_ARTIST_PREFIX = "unknown:"
"""``unknown:<track_id>``: an excerpt of unknown artist, its own artist (never merged with another)."""
#: artist cells (compared casefolded) that say the artist is not known, beside pandas' missing-value cells and cells of
#: dashes or dots alone (:func:`is_unknown_artist`); a compilation's "Various Artists" names no one artist either
UNKNOWN_ARTIST_WORDS = ("unknown", "unknown artist", "[unknown]", "(unknown)", "<unknown>", "?", "??", "n.a.", "n.a",
                        "n/k", "various", "various artists", "v.a.", "v/a")


def visible_text(text: str) -> str:
    """``text`` as it shows: NFKC, invisible format characters (zero-width space, joiners, a byte-order mark) removed,
    outer whitespace stripped."""
    return "".join(c for c in unicodedata.normalize("NFKC", str(text)) if unicodedata.category(c) != "Cf").strip()


def is_unknown_artist(cell: str) -> bool:
    """Whether an artist cell says the artist is not known: empty or invisible, one of :data:`UNKNOWN_ARTIST_WORDS`
    (``Unknown``, ``?``, ``n.a.``, ``Various Artists``), or dashes and dots alone (``-``, ``--``, ``—``, what a
    spreadsheet makes of ``--``; ``...``). Such an excerpt is its own artist: read as a name, the cell would make all
    the excerpts that carry it one artist, kept in one part by the artist filter."""
    text = visible_text(cell)
    return (not text or text.casefold() in UNKNOWN_ARTIST_WORDS
            or all(unicodedata.category(c) == "Pd" or c in ".\u2212_ " for c in text))


LATIN_LETTERS_APART = str.maketrans({"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ı": "i", "đ": "d", "Đ": "D", "ħ": "h",
                                     "Ħ": "H", "ŧ": "t", "Ŧ": "T", "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe",
                                     "Œ": "OE", "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D"})
"""Latin letters with a stroke or ligature that Unicode does not decompose, written without it as often as a
tag drops an accent (``Røyksopp``, ``Royksopp``; ``Czesław``, ``Czeslaw``; ``Barış``, ``Baris``: audit 57)."""


def _without_accents(text: str, every_mark: bool = False) -> str:
    """``text`` with its accents dropped (``Sigur Rós`` -> ``Sigur Ros``): NFKD, the combining marks on a Latin or
    Greek letter removed (Greek capitals carry no tonos: ``ΒΑΣΙΛΗΣ``, ``Βασίλης``), and the diaeresis of Cyrillic
    ``ё`` (written ``е`` as often), then NFC. Another mark on another script's letter makes another letter (Cyrillic
    ``й`` is not ``и``, kana ``ガ`` is not ``カ``): kept, so that ``Бой`` and ``Бои`` stay two artists (audit 54);
    ``every_mark`` drops those too (names that may be one artist's, :func:`look_alike_artists`)."""
    kept, base = [], ""
    for c in unicodedata.normalize("NFKD", str(text).translate(LATIN_LETTERS_APART)):
        if unicodedata.combining(c):
            accent = (base.startswith(("LATIN ", "GREEK ")) or (c == "\u0308" and base.startswith("CYRILLIC")
                                                                  and base.endswith(" LETTER IE")))
            if not (every_mark or accent):
                kept.append(c)
            continue
        base = unicodedata.name(c, "")
        kept.append(c)
    return unicodedata.normalize("NFC", "".join(kept))


def artist_key(artist: str) -> str:
    """The identity of an artist's name: :func:`normalise_text` of the name with its accents dropped
    (``Sigur Rós``, ``Sigur Ros``) and ``&`` read as ``and`` (Sturm's index has ``Earth, Wind & Fire``,
    disco.00016, beside ``Earth Wind and Fire``, disco.00056 and 00059); for a name of punctuation only
    (``!!!``), the name without whitespace, casefolded (so that ``!!!`` and ``???`` stay apart)."""
    key = normalise_text(re.sub(r"&", " and ", _without_accents(artist)))
    return key if key else "".join(str(artist).split()).casefold()


def _artist_words(artist: str, every_mark: bool = False) -> list[str]:
    """The words of an artist's name as :func:`artist_key` reads them (accents dropped, ``&`` and a lone ``n``
    as ``and``, casefolded), in order; ``every_mark``: every combining mark dropped (:func:`_without_accents`)."""
    name = _without_accents(artist, every_mark).replace("&", " and ")
    words = _word_runs(unicodedata.normalize("NFKC", name).casefold())
    return ["and" if w == "n" else w for w in words]  # Guns N' Roses, Guns and Roses


def artist_spellings(artists) -> dict[str, str]:
    """Which spellings of an artist name to replace, and by which spelling.

    Spellings that differ only in case, whitespace, punctuation, accents or ``&`` for ``and`` name
    one artist (``Rage Against the Machine``, ``Rage Against The Machine``; :func:`artist_key`). Each such group gets one
    spelling: the most frequent, ties broken by the first in sorted order, so that the result
    depends on the names alone, not on their order. Empty names and ``unknown:<track_id>``
    placeholders are never merged.

    Parameters
    ----------
    artists : iterable of str
        One name per excerpt.

    Returns
    -------
    dict
        spelling -> the spelling that replaces it, for the spellings that change only.
    """
    counts = pd.Series([str(a) for a in artists], dtype=object).value_counts(sort=False)
    groups: dict[str, list[tuple[str, int]]] = {}
    for name, n in counts.items():
        if not _is_placeholder(name):
            groups.setdefault(artist_key(name), []).append((name, int(n)))
    mapping = {}
    for spellings in groups.values():
        if len(spellings) > 1:
            keep = min(spellings, key=lambda s: (-s[1], s[0]))[0]
            mapping.update({name: keep for name, _ in spellings if name != keep})
    return mapping


def canonical_artists(artists: pd.Series, source) -> pd.Series:
    """``artists`` with each artist's spellings merged into one (:func:`artist_spellings`), each merge logged, and
    each credit naming several artists (:func:`credit_links`) and each pair of look-alike names logged too.

    Parameters
    ----------
    artists : Series of str
        One name per excerpt.
    source : str or Path
        The file the names come from (for the log).

    Returns
    -------
    Series of str
        The same index; only merged spellings change.
    """
    mapping = artist_spellings(artists)
    counts = artists.value_counts()
    for old, new in sorted(mapping.items()):
        # logged, not silent: a merge changes which excerpts the artist filter keeps together
        log.info("%s: artist spellings merged: %r (%d) -> %r (%d)", source, old, counts[old], new, counts[new])
    merged = artists.replace(mapping) if mapping else artists
    links = credit_links(merged)
    if links:
        # a warning, not a note: a band named like a collaboration ("Peaches and Herb" beside a solo "Peaches") would be
        # linked to an artist it is not, and only the user can tell
        log.warning("%s: %d credit(s) name other artists, and count as an excerpt of each (the artist filter keeps them "
                    "in one part; the attribution counts a test excerpt artist_in_train beside any of them): %s; where a "
                    "credit is a band's name rather than a collaboration, spell the other artist apart in the annotations "
                    "(\"Peaches (singer)\")", source, len(links),
                    "; ".join(f"{credit!r} -> {list(others)}" for credit, others in list(links.items())[:10])
                    + (f"; ... ({len(links) - 10} more)" if len(links) > 10 else ""))
    alike = look_alike_artists(merged)
    if alike:
        # not merged (they may be two artists), but the artist filter would let them into two parts: said
        log.warning("%s: artist names that may name one artist are kept apart (the artist filter may put them in "
                    "two parts; if they are one artist, write one spelling): %s", source, alike[:10])
    return merged


def look_alike_artists(artists) -> list[list[str]]:
    """Artist names that may be one artist's and that neither :func:`artist_spellings` merges nor
    :func:`credited_artists` links: the same words in another order (``Tosh, Peter``, ``Peter Tosh``; ``Guns N'
    Roses``, ``Guns and Roses``), or letters told apart by a mark that makes another letter in their script (``Бой``,
    ``Бои``: maybe a misspelling). Sorted groups of two or more names; placeholders left out. (A name and the same name
    with a band, ``Bob Marley`` and ``Bob Marley & The Wailers``, is a credit naming ``Bob Marley``: linked.)
    """
    names = sorted({str(a) for a in artists if not _is_placeholder(str(a))})
    groups: dict[str, set[str]] = {}
    for name in names:
        groups.setdefault(" ".join(sorted(_artist_words(name, every_mark=True))), set()).add(name)
    return sorted(sorted(group) for group in groups.values() if len(group) > 1)


CREDIT_JOINER = re.compile(r"\s*[,&+;、，]\s*|\s+(?:and|with|vs\.?)\s+|\s*\b(?:feat|ft)\.\s*"
                           r"|\s+(?:feat|ft|featuring)\s*:?\s+|\s+featuring:", re.IGNORECASE)
"""What joins two artists in one credit: ``Lauryn Hill and Bob Marley`` (Sturm's index, reggae.00087), ``A & B``,
``A, B & C``, ``A feat. B`` (``A (feat. B)``, ``A [ft. B]``, ``A feat.B``, ``A featuring: B``), ``A with B``,
``A vs. B``, ``A + B``, ``A; B``, and the full-width and ideographic commas; read after NFKC, so that a full-width
``＆`` is ``&``, and with brackets as spaces. Band names hold them too (``KC and The Sunshine Band``, ``Earth, Wind &
Fire``): a part of a credit is an artist only where it is some excerpt's whole credit (:func:`credited_artists`).
``/`` is no joiner (``AC/DC``)."""


def _is_placeholder(name: str) -> bool:
    """An empty name or an ``unknown:<track_id>`` placeholder: an artist of its own, never matched."""
    return not visible_text(name) or name.startswith(UNKNOWN_ARTIST_PREFIX)


def _credit_parts(credit: str) -> list[str]:
    """Every run of consecutive parts of ``credit`` between joiners (:data:`CREDIT_JOINER`), as written, the whole
    credit left out: ``A, B & C`` -> ``A``, ``A, B``, ``B``, ``B & C``, ``C`` (so a credit naming a duo, ``Simon &
    Garfunkel feat. X``, names the duo)."""
    # full-width letters and signs as their plain forms, and brackets as spaces: "A (feat. B)" reads as "A  feat. B "
    credit = re.sub(r"[()\[\]{}]", " ", unicodedata.normalize("NFKC", credit))
    bounds, start = [], 0
    for joiner in CREDIT_JOINER.finditer(credit):
        if joiner.start() > start:  # a joiner at the start, or two in a row, leaves no part between
            bounds.append((start, joiner.start()))
        start = joiner.end()
    if start < len(credit):
        bounds.append((start, len(credit)))
    n = len(bounds)
    return [credit[bounds[i][0]:bounds[j][1]] for i in range(n) for j in range(i, n) if (i, j) != (0, n - 1)]


def credited_artists(artists: Iterable[str]) -> list[tuple[str, ...]]:
    """The artists each excerpt's credit names: the credit itself, and each part of it that is another excerpt's
    whole credit.

    Parameters
    ----------
    artists : iterable of str, length n_excerpts
        The artist credit of each excerpt of the dataset (the metadata's ``artist`` column). Parts are matched
        against the whole credits of these excerpts, so pass the whole dataset.

    Returns
    -------
    list of tuple of str, length n_excerpts
        Sorted artist names per excerpt. Each name is spelled as the first in sorted order of the credits that
        share its :func:`artist_key` (one artist, one name). ``Lauryn Hill and Bob Marley``, beside excerpts credited
        to ``Bob Marley`` and to ``Lauryn Hill``, names ``("Bob Marley", "Lauryn Hill", "Lauryn Hill and Bob
        Marley")``; ``KC and The Sunshine Band`` names itself alone where no excerpt is credited to ``KC`` or to
        ``The Sunshine Band``. A placeholder (empty, ``unknown:<track_id>``) names itself alone.
    """
    names = [str(a) for a in artists]
    spelling: dict[str, str] = {}
    for name in sorted(set(names)):
        if not _is_placeholder(name):
            spelling.setdefault(artist_key(name), name)
    named: dict[str, tuple[str, ...]] = {}
    for name in set(names):
        if _is_placeholder(name):
            named[name] = (name,)
            continue
        found = {spelling[artist_key(name)]}
        found.update(spelling[key] for key in map(artist_key, _credit_parts(name)) if key in spelling)
        named[name] = tuple(sorted(found))
    return [named[name] for name in names]


def excerpt_credits(metadata: pd.DataFrame) -> pd.Series:
    """:func:`credited_artists` of a metadata table (``track_id``, ``artist``), by track id."""
    return pd.Series(credited_artists(metadata["artist"]), index=pd.Index(metadata["track_id"], name="track_id"),
                     dtype=object, name="credited")


def artist_group_of(metadata: pd.DataFrame) -> dict[str, str]:
    """Each excerpt's artist group (:func:`artist_groups` of its credits), by track id: the units the artist filter
    keeps together, and those a resampling by artist draws (``A and B`` with every excerpt of A and of B)."""
    return dict(zip(metadata["track_id"], artist_groups(list(excerpt_credits(metadata)))))


def credit_links(artists: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The credits that name other artists, and those artists (:func:`credited_artists`), for the log.

    Returns
    -------
    dict
        credit -> the other artists it names (sorted); credits naming only themselves are left out.
    """
    names = [str(a) for a in artists]
    links = {}
    for name, credited in zip(names, credited_artists(names)):
        others = tuple(a for a in credited if artist_key(a) != artist_key(name))
        if others:
            links[name] = others
    return dict(sorted(links.items()))


def artist_groups(credits: Sequence[tuple[str, ...]]) -> list[str]:
    """Excerpts linked by a common artist, directly or through other excerpts: the units the artist filter keeps
    in one part.

    Two excerpts whose credits (:func:`credited_artists`) name a common artist share an artist; the groups are the
    connected sets of that relation (``Lauryn Hill and Bob Marley`` puts every Bob Marley and every Lauryn Hill
    excerpt in one group: wherever that excerpt goes, both artists are).

    Parameters
    ----------
    credits : sequence of tuple of str, length n_excerpts
        :func:`credited_artists` of the excerpts to group.

    Returns
    -------
    list of str, length n_excerpts
        The group of each excerpt, named by the first artist in sorted order of the group (an excerpt naming one
        artist that no other excerpt's credit links: that artist).
    """
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        parent.setdefault(name, name)
        while parent[name] != name:
            parent[name] = parent[parent[name]]  # path halving: chains stay short
            name = parent[name]
        return name

    for credited in credits:
        first = root(credited[0])
        for other in credited[1:]:
            # the smaller name becomes the root, so a group is named by its first artist in sorted order
            a, b = sorted((first, root(other)))
            parent[b] = a
            first = a
    return [root(credited[0]) for credited in credits]

"""Ratings data for the recommender: a synthetic generator with planted structure, a seeded
train/test split, and a parser for user-supplied rating files.

The planted model is the one the recommender fits,

    r_ui = μ* + b*_u + b*_i + p*_uᵀ q*_i + ε_ui,   ε_ui ~ N(0, noise²),

clipped to the 1–5 scale, so a trained model can beat the global-mean predictor by a wide margin
and approach the noise floor — the RMSE of the clean signal itself.
"""

from __future__ import annotations

import csv
import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from calc_core.common.validate import whole

RATING_MIN, RATING_MAX = 1.0, 5.0
PLANTED_MEAN = 3.5
USER_BIAS_STD = 0.35
ITEM_BIAS_STD = 0.45
INTERACTION_STD = 0.6  # standard deviation of p*_uᵀ q*_i

MAX_UPLOAD_ROWS = 1_100_000  # MovieLens 1M's ratings.dat has 1,000,209
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_PACKED = {b"PK\x03\x04": "a zip archive (as an .xlsx workbook is)", b"\x1f\x8b": "a gzip file",
           b"\xfd7zXZ\x00": "an xz file", b"7z\xbc\xaf\x27\x1c": "a 7-Zip archive",
           b"\xd0\xcf\x11\xe0": "an old Excel (.xls) workbook"}
csv.field_size_limit(max(csv.field_size_limit(), 64 * 2**20))  # a review's text in a quoted field: the upload cap bounds it
MAX_ID_CHARS = 100  # a user or item id: a number, a name, an ASIN — not a paragraph
MAX_LINE_CHARS = 10_000  # one row of user, item, rating (and a timestamp or a few more columns)
SKIP_SHARE = 0.01  # rows without a usable rating or id: up to this share is left out (and said), more refuse the file
MAX_RATING_MAGNITUDE = 10_000.0  # stars, grades, scores out of 100 or 1000 fit; 1e308 does not


@dataclass(frozen=True)
class PlantedRatings:
    """Synthetic ratings together with the clean signal they were drawn around."""

    users: np.ndarray  # int64, 0 … n_users−1
    items: np.ndarray  # int64, 0 … n_items−1
    ratings: np.ndarray  # float64 on the 1–5 scale
    clean: np.ndarray  # the noiseless signal of each pair, clipped to 1–5
    expected: np.ndarray  # E[r | signal]: the best possible prediction of each rating
    n_users: int
    n_items: int


def _check_count(name: str, value, minimum: int = 1) -> int:
    return whole(name, value, minimum)


def expected_clipped(mean, sigma: float, low: float = RATING_MIN, high: float = RATING_MAX) -> np.ndarray:
    """E[clip(X, low, high)] for X ~ N(mean, σ²) (the module docstring's formula; clip(mean) at σ = 0)."""
    mean = np.asarray(mean, dtype=float)
    if sigma == 0:
        return np.clip(mean, low, high)
    alpha, beta = (low - mean) / sigma, (high - mean) / sigma
    density = lambda t: np.exp(-0.5 * t * t) / np.sqrt(2 * np.pi)  # noqa: E731
    # a Φ(α) + b (1 − Φ(β)) + s (Φ(β) − Φ(α)) + σ (φ(α) − φ(β))
    return (low * ndtr(alpha) + high * (1 - ndtr(beta)) + mean * (ndtr(beta) - ndtr(alpha))
            + sigma * (density(alpha) - density(beta)))


def planted_ratings(
    n_users: int, n_items: int, density: float, rank: int, noise: float, seed: int = 0
) -> PlantedRatings:
    """Draw ratings from the planted model on a random ``density`` fraction of user–item pairs."""
    n_users = _check_count("n_users", n_users)
    n_items = _check_count("n_items", n_items)
    rank = _check_count("rank", rank)
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density must be in (0, 1], got {density}")
    if not (np.isfinite(noise) and noise >= 0.0):
        raise ValueError(f"noise must be a finite number ≥ 0, got {noise}")
    rng = np.random.default_rng(seed)
    user_bias = rng.normal(0.0, USER_BIAS_STD, n_users)
    item_bias = rng.normal(0.0, ITEM_BIAS_STD, n_items)
    # p·q of two rank-k vectors with N(0, σ²) entries has variance k σ⁴ = INTERACTION_STD²
    factor_std = (INTERACTION_STD**2 / rank) ** 0.25
    user_factors = rng.normal(0.0, factor_std, (n_users, rank))
    item_factors = rng.normal(0.0, factor_std, (n_items, rank))

    n_pairs = n_users * n_items
    n_ratings = max(1, int(round(density * n_pairs)))
    pair = np.sort(rng.choice(n_pairs, size=n_ratings, replace=False))
    users, items = np.divmod(pair, n_items)
    signal = (
        PLANTED_MEAN
        + user_bias[users]
        + item_bias[items]
        + np.einsum("nk,nk->n", user_factors[users], item_factors[items])
    )
    ratings = np.clip(signal + rng.normal(0.0, noise, n_ratings), RATING_MIN, RATING_MAX)
    clean = np.clip(signal, RATING_MIN, RATING_MAX)
    return PlantedRatings(users.astype(np.int64), items.astype(np.int64), ratings, clean,
                          expected_clipped(signal, float(noise)), n_users, n_items)


def make_ratings(n_users, n_items, density, rank, noise, seed=0):
    """Synthetic (users, items, ratings) with planted biases and rank-``rank`` structure, 1–5 scale."""
    data = planted_ratings(n_users, n_items, density, rank, noise, seed)
    return data.users, data.items, data.ratings


def train_test_split(n_ratings: int, test_fraction: float = 0.2, seed: int = 0):
    """Deterministic split of rating indices 0 … n_ratings−1: (train_idx, test_idx), both sorted.

    The same seed always gives the same split. At least one rating stays in training.
    """
    n_ratings = _check_count("the number of ratings", n_ratings)
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")
    order = np.random.default_rng([seed, 7]).permutation(n_ratings)
    n_test = min(int(round(test_fraction * n_ratings)), n_ratings - 1)
    return np.sort(order[n_test:]), np.sort(order[:n_test])


@dataclass(frozen=True)
class RatingsTable:
    """Ratings read from a file: raw ids mapped to dense indices 0 … n−1."""

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray
    user_ids: np.ndarray  # raw id (as text) of each dense user index
    item_ids: np.ndarray
    delimiter: str
    skipped_header: bool
    duplicate_pairs: int = 0  # (user, item) pairs rated more than once: each rating is kept
    decimal_comma: bool = False  # some rating was written 3,5
    repeat_ratings: int = 0  # the ratings of those pairs beyond each pair's first
    skipped_rows: int = 0  # rows left out: no number for a rating, or an empty id (at most SKIP_SHARE of them)
    first_skipped: str = ""  # "line 7: the rating 'n/a' is not a number"

    @property
    def n_users(self) -> int:
        return int(self.user_ids.size)

    @property
    def n_items(self) -> int:
        return int(self.item_ids.size)


def _fields_outside_quotes(line: str, candidate: str) -> int:
    if candidate == "::":
        return len(line.split("::"))
    try:  # a comma inside a quoted field ("Toy Story, 1995") does not split it
        return len(next(csv.reader([line], delimiter=candidate)))
    except (csv.Error, StopIteration):
        return len(line.split(candidate))


def _guess_delimiter(line: str) -> str:
    """The separator of a row: "::", tab, ";" (a European CSV, whose decimal mark is ","), ",", "|"
    or spaces — the first that splits the row into at least three fields, quoted fields kept whole."""
    for candidate in ("::", "\t", ";", ",", "|"):
        if candidate in line and _fields_outside_quotes(line, candidate) >= 3:
            return candidate
    for candidate in ("::", "\t", ",", ";", "|"):
        if candidate in line:
            return candidate
    return " "


def _rows(text: str, delimiter: str):
    """(line number, fields, the row's text) of every non-blank row. A CSV's quoted field may hold
    the separator or line breaks (a review's text); rows end at \n, \r\n or \r only."""
    if delimiter in ("::", " "):
        for number, line in enumerate(_LINE_BREAK.split(text), start=1):
            if not line.strip():
                continue
            if len(line) > MAX_LINE_CHARS:
                raise ValueError(f"Line {number} is {len(line):,} characters long; a row of user, item, rating (and "
                                 f"a timestamp) needs far fewer, so the file is read up to {MAX_LINE_CHARS:,} per line.")
            yield number, line.split() if delimiter == " " else [f.strip() for f in line.split("::")], line
        return
    lines = _LINE_BREAK.split(text)
    # not strict: a quote inside a field ("Weird Al" Yankovic) is kept, as a spreadsheet writes it
    reader = csv.reader((line + "\n" for line in lines), delimiter=delimiter)
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            shown = lines[start - 1] if start - 1 < len(lines) else ""
            raise ValueError(f"Line {start} cannot be read as CSV ({exc}). (Line {start} reads: {shown[:60]!r})") from None
        number, start = start, reader.line_num + 1
        if not any(field.strip() for field in fields):
            continue
        yield number, [field.strip() for field in fields], lines[number - 1]


#: a header's column names, lower-cased with everything but letters and digits dropped
HEADER_NAMES = {
    "user": ("user", "userid", "uid", "users", "customer", "customerid", "reviewer", "reviewerid", "rater"),
    "item": ("item", "itemid", "iid", "items", "movie", "movieid", "product", "productid", "asin", "book",
             "bookid", "isbn", "film", "filmid", "song", "songid", "track", "trackid", "business", "businessid"),
    "rating": ("rating", "ratings", "rate", "score", "stars", "star", "grade", "overall", "bookrating"),
}


def _number(text: str) -> float:
    """A rating as written: 3.5, or with a decimal comma, 3,5 — in a ';'- or tab-separated file, or
    quoted in a ','-separated one ("3,5"). Not 1,000: three digits after the comma may be thousands."""
    try:
        return float(text)
    except ValueError:
        whole, comma, fraction = text.partition(",")
        if comma and "." not in text and "," not in fraction and len(fraction.strip()) != 3:
            return float(f"{whole}.{fraction}")
        raise


def _is_number(text: str) -> bool:
    try:
        _number(text)
        return True
    except ValueError:
        return False


def _header_columns(names: list[str]) -> tuple[int, int, int]:
    """(user, item, rating) columns from a header's names; a role it does not name keeps its place
    (0, 1, 2) when no named role took that place, else a ValueError says which role is missing."""
    plain = ["".join(ch for ch in name.lower() if ch.isalnum()) for name in names]
    found = {role: next((n for n, name in enumerate(plain) if name in known), None)
             for role, known in HEADER_NAMES.items()}
    if all(column is None for column in found.values()):
        return 0, 1, 2
    for role, place in zip(found, (0, 1, 2)):  # a role not named keeps its place, if no named role took it
        if found[role] is None and place not in found.values() and place < len(names):
            found[role] = place
    missing = [role for role, column in found.items() if column is None]
    if missing or len(set(found.values())) < 3:
        raise ValueError(f"The header names the columns {', '.join(repr(n[:20]) for n in names[:8])}, but not which "
                         f"one holds the {' and the '.join(missing) if missing else 'user, item and rating apart'}. "
                         "Name them user, item and rating (or userId, movieId, rating as MovieLens does).")
    return found["user"], found["item"], found["rating"]


def _factorize(ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ids, sorted, and each row's index into them — memory in proportion to the text
    (np.unique over an array of every row would pad each row's id to the longest one)."""
    distinct = sorted(set(ids))
    index = {name: n for n, name in enumerate(distinct)}
    return np.array(distinct, dtype=object), np.fromiter((index[name] for name in ids), np.int64, len(ids))


def parse_ratings_text(data: bytes | str, max_rows: int = MAX_UPLOAD_ROWS) -> RatingsTable:
    """Read ``user, item, rating`` rows (CSV, TSV such as MovieLens ``u.data``, or ``::``-separated).

    Extra columns (a timestamp) are ignored, a header row is skipped, user and item ids may be any
    text. Raises ValueError with a message a user can act on when the file cannot be used.
    """
    if isinstance(data, bytes):
        packed = next((name for magic, name in _PACKED.items() if data.startswith(magic)), None)
        if packed:
            raise ValueError(f"This is {packed}, not a text file: unpack it (or save the sheet as CSV) and upload "
                             "the ratings file itself, a CSV of user, item, rating.")
        try:
            # Excel's "Unicode text" is UTF-16 with a byte-order mark; anything else must be UTF-8
            text = data.decode("utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else data.decode("utf-8-sig")
        except UnicodeError:
            raise ValueError(
                "The file is not UTF-8 text. Upload a CSV or tab-separated text file with the "
                "columns user, item, rating."
            ) from None
    else:
        text = data
    if "\x00" in text:
        raise ValueError("The file looks binary, not text. Upload a CSV of user, item, rating.")
    # rows end at \n, \r\n or \r only: str.splitlines() would also split an id at U+2028, \x0b or \x0c
    first = next((m.group(0) for m in re.finditer(r"[^\r\n]+", text) if m.group(0).strip()), None)
    if first is None:
        raise ValueError("The file is empty. It needs rows of user, item, rating.")
    delimiter = _guess_delimiter(first)
    decimal_comma = False  # any rating written 3,5
    skipped_header = False
    user_col, item_col, rating_col = 0, 1, 2  # by position, unless a header names them
    users, items, values = [], [], []
    skipped: list[tuple[int, str]] = []  # (line, what is wrong) of the rows left out
    for row, (number, fields, line) in enumerate(_rows(text, delimiter), start=1):
        needed = max(user_col, item_col, rating_col) + 1
        if len(fields) < needed:
            shown = {"\t": "tab", " ": "space"}.get(delimiter, repr(delimiter))
            raise ValueError(
                f"Line {number} has {len(fields)} column(s) when split on {shown}; each row needs "
                f"at least {'three' if needed == 3 else needed}: user, item, rating. (Line {number} reads: {line[:60]!r})"
            )
        if row == 1 and not _is_number(fields[2]):
            skipped_header = True
            user_col, item_col, rating_col = _header_columns(fields)
            continue
        user, item, text_rating = fields[user_col], fields[item_col], fields[rating_col]
        if "\n" in user + item + text_rating:  # only an extra column (a review's text) may span lines
            raise ValueError(f"Line {number}: a quote opened in the user, item or rating runs on past the end of "
                             f"the line, and those cannot span lines. Check the quotes there. (Line {number} reads: "
                             f"{line[:60]!r})")
        try:
            value = _number(text_rating)
            decimal_comma = decimal_comma or "," in text_rating
            problem = (None if np.isfinite(value) and user and item else
                       f"the rating {text_rating[:30]!r} is not a finite number" if not np.isfinite(value) else
                       "the user or item id is empty")
        except ValueError:
            problem = "the rating is empty" if not text_rating else f"the rating {text_rating[:30]!r} is not a number"
        if problem is not None:  # a stray row of a large export is left out, and said; many are refused below
            skipped.append((number, problem))
            continue
        if abs(value) > MAX_RATING_MAGNITUDE:
            raise ValueError(f"Line {number}: the rating {fields[rating_col][:30]!r} is outside ±{MAX_RATING_MAGNITUDE:,.0f}. "
                             "Ratings are stars, grades or scores (1–5, 0–10, 0–100, …); rescale the file.")
        if max(len(user), len(item)) > MAX_ID_CHARS:
            raise ValueError(f"Line {number}: an id is {max(len(user), len(item)):,} characters long; ids "
                             f"of up to {MAX_ID_CHARS} characters are read (user and item ids are names or numbers).")
        users.append(user)
        items.append(item)
        values.append(value)
        if len(values) > max_rows:
            raise ValueError(
                f"The file has more than {max_rows:,} ratings; this lab trains live and takes at "
                f"most {max_rows:,}. Upload a sample of it."
            )
    if skipped and len(skipped) > SKIP_SHARE * (len(values) + len(skipped)):
        (number, problem), more = skipped[0], len(skipped) - 1
        raise ValueError(f"Line {number}: {problem}." + (f" {more:,} more row{'s' * (more != 1)} cannot be read "
                                                          f"either (line {skipped[1][0]}" + (", …)." if more > 1 else
                                                                                              ").") if more else ""))
    if not values:
        raise ValueError("The file has a header but no ratings under it.")
    if len(values) < 10:
        raise ValueError(f"The file has only {len(values)} rating(s); at least 10 are needed.")
    user_ids, user_index = _factorize(users)
    item_ids, item_index = _factorize(items)
    pairs = user_index.astype(np.int64) * item_ids.size + item_index
    counts = np.unique(pairs, return_counts=True)[1]
    return RatingsTable(
        user_index.astype(np.int64), item_index.astype(np.int64), np.array(values, dtype=float),
        user_ids, item_ids, delimiter, skipped_header, int(np.count_nonzero(counts > 1)), decimal_comma,
        int(pairs.size - counts.size), len(skipped), f"line {skipped[0][0]}: {skipped[0][1]}" if skipped else "",
    )


_READ: OrderedDict[bytes, RatingsTable] = OrderedDict()  # the last few files read, by their digest
_READ_LOCK = threading.Lock()
READ_KEPT = 2  # a session moving sliders over one file (or two sessions over two) reads each once


def read_upload(data: bytes) -> RatingsTable:
    """parse_ratings_text, remembered for the last READ_KEPT files: every slider move retrains on the
    same file, and reading MovieLens 1M's million rows takes seconds; refusals are not remembered."""
    key = hashlib.blake2b(data, digest_size=16).digest()
    with _READ_LOCK:
        if key in _READ:
            _READ.move_to_end(key)
            return _READ[key]
    table = parse_ratings_text(data)
    for column in (table.users, table.items, table.ratings):
        column.flags.writeable = False  # shared by every run over this file
    with _READ_LOCK:
        _READ[key] = table
        while len(_READ) > READ_KEPT:
            _READ.popitem(last=False)
    return table

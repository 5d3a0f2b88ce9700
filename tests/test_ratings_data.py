"""calc_core.recommender.data: the planted generator, the split and the upload parser."""

import numpy as np
import pytest

from calc_core.recommender.data import (
    make_ratings,
    parse_ratings_text,
    planted_ratings,
    train_test_split,
)


def test_planted_ratings_have_the_requested_size_scale_and_unique_pairs():
    data = planted_ratings(50, 40, 0.25, 3, 0.5, seed=0)
    assert data.ratings.size == 500
    assert data.ratings.min() >= 1 and data.ratings.max() <= 5
    assert np.unique(data.users * 40 + data.items).size == 500
    assert data.users.max() < 50 and data.items.max() < 40


def test_noise_is_the_gap_between_observed_and_clean_ratings():
    data = planted_ratings(200, 200, 0.2, 3, 0.3, seed=1)
    residual = data.ratings - data.clean
    inside = (data.clean > 2) & (data.clean < 4)  # away from the clipping edges
    assert residual[inside].std() == pytest.approx(0.3, rel=0.05)
    assert planted_ratings(20, 20, 0.5, 2, 0.0, seed=1).ratings.tolist() == \
        planted_ratings(20, 20, 0.5, 2, 0.0, seed=1).clean.tolist()


def test_planted_structure_explains_most_of_the_variance():
    # the global-mean predictor must leave much more error than the noise: there is something to learn
    data = planted_ratings(300, 300, 0.1, 3, 0.4, seed=2)
    assert data.ratings.std() > 2 * np.sqrt(np.mean((data.ratings - data.clean) ** 2))


def test_make_ratings_is_reproducible_by_seed():
    a, b = make_ratings(30, 30, 0.2, 2, 0.5, seed=9), make_ratings(30, 30, 0.2, 2, 0.5, seed=9)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[2], make_ratings(30, 30, 0.2, 2, 0.5, seed=10)[2])


@pytest.mark.parametrize("kwargs", [{"density": 0}, {"density": 1.5}, {"rank": 0}, {"noise": -1},
                                    {"n_users": 0}, {"noise": float("nan")}])
def test_bad_generator_settings_raise(kwargs):
    settings = {**dict(n_users=10, n_items=10, density=0.2, rank=2, noise=0.5), **kwargs}
    with pytest.raises(ValueError):
        planted_ratings(**settings)


def test_split_is_a_deterministic_partition():
    train, test = train_test_split(100, 0.2, seed=3)
    assert test.size == 20 and train.size == 80
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(100))
    again = train_test_split(100, 0.2, seed=3)
    assert np.array_equal(train, again[0]) and np.array_equal(test, again[1])
    assert not np.array_equal(test, train_test_split(100, 0.2, seed=4)[1])
    assert train_test_split(1, 0.5)[0].size == 1


def test_parses_movielens_u_data_tab_separated_with_timestamps():
    text = "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n" * 4
    table = parse_ratings_text(text.encode())
    assert table.delimiter == "\t" and table.ratings.size == 12
    assert list(table.user_ids) == ["186", "196", "22"]
    assert table.user_ids[table.users[0]] == "196" and table.item_ids[table.items[2]] == "377"


def test_parses_csv_with_header_and_movielens_1m_double_colon_format():
    csv_text = "userId,movieId,rating,timestamp\n" + "".join(f"u{k % 4},m{k % 5},{k % 5 + 0.5}\n" for k in range(12))
    table = parse_ratings_text(csv_text)
    assert table.skipped_header and table.ratings.size == 12 and table.n_users == 4 and table.n_items == 5
    ml1m = "".join(f"{k % 3 + 1}::{k}::4::978300760\n" for k in range(10))
    assert parse_ratings_text(ml1m).delimiter == "::"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"user,item,rating\n", "no ratings"),
        (b"1,2\n3,4\n", "at least three"),
        (b"1,2,3\n" * 10 + b"1,2,five\n", "not a number"),
        (b"1,2,3\n" * 10 + b"1,2,nan\n", "finite"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8|binary"),
        (b"1,2,3\n1,3,4\n", "at least 10"),
    ],
)
def test_unusable_files_raise_a_message_that_says_what_is_wrong(content, message):
    with pytest.raises(ValueError, match=message):
        parse_ratings_text(content)


def test_too_many_rows_are_refused():
    with pytest.raises(ValueError, match="at most 20"):
        parse_ratings_text("1,2,3\n" * 30, max_rows=20)


def test_memory_follows_the_text_not_the_longest_id_times_the_rows():
    import tracemalloc

    rows = "".join(f"{k % 500},{k % 300},{k % 5 + 1}\n" for k in range(200_000))
    data = ("u" * 100 + ",1,3\n" + rows).encode()  # one long id: padding every row's id to it took ≈ 280 MB
    tracemalloc.start()
    try:
        table = parse_ratings_text(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert table.n_users == 501 and table.user_ids[table.users[0]] == "u" * 100
    assert peak < 120 * 2**20, f"{peak / 2**20:.0f} MB to read a {len(data) / 2**20:.1f} MB file"


@pytest.mark.parametrize("text, said", [
    ("x" * 2000 + ",1,3\n" + "1,2,3\n" * 20, "an id is 2,000 characters long"),
    ("a" * 200_000 + ",b,3\n" + "1,2,3\n" * 20, "Line 1: an id is 200,000 characters long"),
    ("a" * 200_000 + "::b::3\n" + "1::2::3\n" * 20, "Line 1 is 200,006 characters long"),  # no quotes: a line cap
])
def test_absurdly_long_ids_and_lines_are_refused_with_their_length(text, said):
    with pytest.raises(ValueError, match=said):
        parse_ratings_text(text.encode())


ROWS = [("1", "10", 4), ("2", "11", 3), ("3", "12", 5), ("1", "12", 2)] * 4


@pytest.mark.parametrize("header, order", [
    ("userId,movieId,rating,timestamp", ("u", "i", "r", "t")),  # MovieLens ratings.csv
    ("userId,rating,movieId", ("u", "r", "i")),
    ("userId,movieId,timestamp,rating", ("u", "i", "t", "r")),
    ("reviewerID,asin,overall", ("u", "i", "r")),  # Amazon reviews
    ("user,thing,rating", ("u", "i", "r")),  # an unknown name keeps its place
    ("a,b,c", ("u", "i", "r")),  # no known name: by position
])
def test_a_header_says_which_column_holds_what(header, order):
    cell = {"u": 0, "i": 1, "r": 2}
    lines = [header] + [",".join({"t": "978300760"}.get(k) or str(row[cell[k]]) for k in order) for row in ROWS]
    table = parse_ratings_text("\n".join(lines).encode())
    assert table.skipped_header
    assert list(table.ratings) == [float(r) for _, _, r in ROWS]
    assert [table.user_ids[u] for u in table.users] == [u for u, _, _ in ROWS]
    assert [table.item_ids[i] for i in table.items] == [i for _, i, _ in ROWS]


def test_a_header_that_leaves_a_role_without_a_column_is_refused_with_the_names():
    lines = ["userId,rating,when"] + [f"{u},{r},{i}" for u, i, r in ROWS]
    with pytest.raises(ValueError, match="not which one holds the item"):
        parse_ratings_text("\n".join(lines).encode())


def test_an_id_with_a_unicode_line_separator_stays_one_id():
    table = parse_ratings_text(("a\u2028b,1,3\n" + "1,2,3\r\n" * 5 + "2,3,4\r" * 5).encode())
    assert "a\u2028b" in list(table.user_ids) and table.ratings.size == 11


def test_a_quoted_review_with_commas_line_breaks_and_long_text_stays_one_row():
    """Amazon-style exports: the review's text is a quoted field that may hold the separator, line
    breaks and more than the 10,000 characters a plain row is allowed."""
    review = '"Great, really.\nSecond paragraph; still the review.\r\n' + "long " * 4000 + '"'
    rows = [f"u{k % 7},item{k % 5},{k % 5 + 1},{review if k % 3 == 0 else 'short'}" for k in range(30)]
    table = parse_ratings_text(("user,item,rating,text\n" + "\n".join(rows)).encode())
    assert table.ratings.size == 30 and table.skipped_header
    assert list(table.ratings) == [float(k % 5 + 1) for k in range(30)]
    assert [table.user_ids[u] for u in table.users] == [f"u{k % 7}" for k in range(30)]


def test_an_error_names_the_line_of_the_file_blank_lines_and_quoted_line_breaks_counted():
    rows = ["1,2,3", "", '1,3,4,"two\nlines"', "", "2,3,4"] * 3 + ["", "2,5,oops"]
    with pytest.raises(ValueError, match="Line 20: the rating 'oops'"):
        parse_ratings_text("\n".join(rows).encode())


def test_a_quoted_semicolon_in_a_comma_separated_file_does_not_make_it_semicolon_separated():
    lines = ['user,item,rating', '1,"a;b;c",4'] + [f"{k},{k % 3},{k % 5 + 1}" for k in range(12)]
    table = parse_ratings_text("\n".join(lines).encode())
    assert table.delimiter == "," and "a;b;c" in list(table.item_ids) and table.ratings[0] == 4.0


def test_excel_unicode_text_is_read_and_archives_are_named():
    text = "user\titem\trating\r\n" + "".join(f"{k}\t{k % 4}\t{k % 5 + 1}\r\n" for k in range(15))
    for encoding in ("utf-16", "utf-16-be"):
        data = text.encode(encoding)
        if encoding == "utf-16-be":
            data = b"\xfe\xff" + data
        table = parse_ratings_text(data)
        assert table.ratings.size == 15 and table.delimiter == "\t"
    import gzip
    import io
    import zipfile

    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("ratings.csv", "1,2,3\n" * 20)
    with pytest.raises(ValueError, match="zip archive.*unpack it"):
        parse_ratings_text(packed.getvalue())
    with pytest.raises(ValueError, match="gzip file"):
        parse_ratings_text(gzip.compress(b"1,2,3\n" * 20))


def test_repeated_pairs_are_counted_as_pairs_and_as_extra_ratings():
    rows = "".join(f"{k % 2},{k % 3},{1 + k % 5}\n" for k in range(30))  # 30 ratings of 6 pairs
    table = parse_ratings_text(rows.encode())
    assert table.duplicate_pairs == 6 and table.repeat_ratings == 24


def test_a_file_is_read_once_for_every_run_over_it(monkeypatch):
    from calc_core.recommender import data as data_module

    calls = []
    real = data_module.parse_ratings_text
    monkeypatch.setattr(data_module, "parse_ratings_text", lambda d: calls.append(1) or real(d))
    content = "".join(f"{u},{i},{(u + i) % 5 + 1}\n" for u in range(30) for i in range(10)).encode()
    first = data_module.read_upload(content)
    assert data_module.read_upload(bytes(bytearray(content))) is first and len(calls) == 1
    assert not first.ratings.flags.writeable  # shared by the runs: none may change it
    for k in range(data_module.READ_KEPT):
        data_module.read_upload(content + f"{k},0,1\n".encode())
    data_module.read_upload(content)
    assert len(calls) == 2 + data_module.READ_KEPT  # pushed out by newer files, read again


def test_a_few_rows_without_a_rating_are_left_out_and_counted_many_refuse_the_file():
    rows = [f"{k % 40},{k % 30},{k % 5 + 1}\n" for k in range(300)]
    table = parse_ratings_text(("user,item,rating\n" + "".join(rows[:100]) + "7,3,\n" + "".join(rows[100:])
                                + "8,4,n/a\n").encode())
    assert table.ratings.size == 300 and table.skipped_rows == 2
    assert table.first_skipped == "line 102: the rating is empty"
    with pytest.raises(ValueError, match=r"Line 2: the rating 'x' is not a number\. 3 more rows cannot be read either "
                                         r"\(line 3, …\)"):
        parse_ratings_text(("user,item,rating\n1,2,x\n1,2,nan\n1,,3\n2,3,\n" + "".join(rows[:100])).encode())


@pytest.mark.parametrize("text", [
    "user\titem\trating\n" + "".join(f"{k}\t{k % 3}\t{k % 4 + 1},5\n" for k in range(12)),  # tab-separated
    "user,item,rating\n" + "".join(f'{k},{k % 3},"{k % 4 + 1},5"\n' for k in range(12)),  # quoted in a CSV
    "".join(f"{k};{k % 3};{k % 4 + 1},5\n" for k in range(12)),  # semicolons, no header
])
def test_a_decimal_comma_is_read_wherever_it_cannot_be_a_separator(text):
    table = parse_ratings_text(text.encode())
    assert table.decimal_comma and list(table.ratings) == [k % 4 + 1.5 for k in range(12)]


def test_a_comma_before_three_digits_is_not_taken_for_a_decimal_point():
    text = "user,item,rating\n" + "".join(f'{k},{k % 3},"1,000"\n' for k in range(12))  # a thousand, or 1.000?
    with pytest.raises(ValueError, match=r"the rating '1,000' is not a number"):
        parse_ratings_text(text.encode())


def test_a_quote_inside_a_field_is_kept_and_a_quote_that_swallows_rows_is_refused():
    table = parse_ratings_text(("".join(f'u{k}\t"Weird Al" Yankovic {k % 3}\t{k % 5 + 1}\n' for k in range(12))).encode())
    assert table.ratings.size == 12 and any("Weird Al" in name for name in table.item_ids)
    swallowing = "1,2,3\n" * 10 + '5,"abc,3\n6,7,4\n8,9",5\n' + "1,2,3\n" * 10
    with pytest.raises(ValueError, match=r"Line 11: a quote opened in the user, item or rating runs on past"):
        parse_ratings_text(swallowing.encode())


def test_a_headerless_file_whose_first_row_holds_a_long_quoted_review_is_read():
    review = '"' + "word, " * 3000 + '\nmore"'
    rows = [f"u{k},i{k % 4},{k % 5 + 1},{review}" for k in range(12)]
    table = parse_ratings_text("\n".join(rows).encode())
    assert table.delimiter == "," and table.ratings.size == 12 and not table.skipped_header

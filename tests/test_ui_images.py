"""ui.images: decoding uploads defensively, the sample photograph, and arrays drawn as images; the
kernels' value cells (ui.charts.matrix, which replaced ui.images.matrix_spec).

Oracles: PIL itself (round trips of what it wrote), matplotlib's colour maps, the Vega-Lite JSON schema.
"""

import io
import re
import struct
import zlib

import time

import numpy as np
import pytest
from matplotlib import colormaps
from PIL import Image

from tests.vega_schema import valid
from ui import charts, images


def encoded(array_or_image, fmt="PNG", **options) -> bytes:
    image = array_or_image if isinstance(array_or_image, Image.Image) else Image.fromarray(array_or_image)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_header(width: int, height: int) -> bytes:
    """The first bytes of a PNG that claims width × height pixels: all PIL reads before refusing it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit gray
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


RGB = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)
SMOOTH = np.dstack([*np.meshgrid(np.linspace(0, 255, 40), np.linspace(0, 255, 30)), np.full((30, 40), 128.0)]).astype(np.uint8)


# ----------------------------------------------------------------------------- decoding

def test_png_and_jpeg_decode_to_their_pixels():
    np.testing.assert_array_equal(images.decode_image(encoded(RGB)), RGB)
    gray = RGB[..., 0]
    np.testing.assert_array_equal(images.decode_image(encoded(gray)), gray)
    jpeg = images.decode_image(encoded(SMOOTH, "JPEG", quality=95))  # lossy, but close on a smooth picture
    assert jpeg.shape == SMOOTH.shape and np.abs(jpeg.astype(float) - SMOOTH).max() < 12


def test_transparent_pixels_are_put_on_white_and_16_bit_gray_is_rescaled():
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)
    decoded = images.decode_image(encoded(rgba))
    assert decoded.shape == (4, 5, 3)
    assert tuple(decoded[0, 0]) == (255, 0, 0) and tuple(decoded[3, 4]) == (255, 255, 255)
    deep = (np.arange(20, dtype=np.uint16).reshape(4, 5) * 3000)
    decoded = images.decode_image(encoded(Image.fromarray(deep)))
    assert decoded.dtype == np.uint8 and decoded.min() == 0 and decoded.max() == 255
    assert np.all(np.diff(decoded.reshape(-1).astype(int)) >= 0)  # the order of the gray levels is kept


def test_a_phone_photo_is_turned_upright_by_its_exif_orientation():
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    decoded = images.decode_image(encoded(RGB, "JPEG", quality=95, exif=exif.tobytes()))
    assert decoded.shape == (40, 30, 3)


def test_a_large_jpeg_can_be_decoded_at_a_reduced_scale():
    big = np.repeat(np.repeat(RGB, 20, axis=0), 20, axis=1)  # 600 × 800
    small = images.decode_image(encoded(big, "JPEG"), shrink_to=100)
    assert 100 <= min(small.shape[:2]) < 600


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"name,rating\nalice,5\n", "not a PNG or JPEG"),  # a text file, whatever it is called
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not a PNG or JPEG"),  # a PNG signature and nothing sensible after
    (encoded(RGB)[:200], "damaged or cut short"),
    (encoded(RGB, "JPEG")[:1000], "damaged or cut short"),  # of 1426 bytes
    (encoded(RGB, "GIF"), "GIF image; upload a PNG or JPEG"),
    (encoded(RGB, "BMP"), "BMP image"),
    (png_header(100_000, 100_000), "far too many pixels"),  # a decompression bomb: PIL refuses it outright
    (png_header(6_000, 5_000), "30 megapixels; the limit is 25"),  # refused by the lab's own limit
])
def test_bad_files_raise_a_value_error_with_a_message_for_the_user(data, message):
    with pytest.raises(ValueError, match=message):
        images.decode_image(data)


def test_files_over_the_size_limit_are_refused_before_decoding():
    with pytest.raises(ValueError, match=r"6.0 MB; the limit is 5 MB"):
        images.decode_image(b"\x00" * (6 * 2**20))
    assert images.decode_image(encoded(RGB), max_bytes=None).shape == RGB.shape


def shown_sizes(text: str) -> tuple[str, str]:
    """The two numbers of "… = 25.2 megapixels; the limit is 25 megapixels." (or "… is 5.1 MB; …")."""
    found = re.search(r"([\d.,]+) (megapixels|MB|pixels|bytes); the limit is ([\d.,]+) \2\.$", text)
    assert found, text
    return found[1], found[3]


@pytest.mark.parametrize("width, height", [(6_000, 4_200), (5_000, 5_001), (5_001, 5_000), (25_000_001, 1),
                                           (6_000, 4_167), (4_999, 5_002), (6_000, 5_000), (7_000, 7_000)])
def test_a_picture_just_over_the_pixel_limit_is_told_a_number_that_exceeds_the_limit(width, height):
    with pytest.raises(ValueError) as refused:
        images.decode_image(png_header(width, height))
    size, limit = shown_sizes(str(refused.value))
    assert limit == "25"  # the limit, exactly
    assert float(size) > float(limit)  # was "25 megapixels; the limit is 25 megapixels" for 6,000 × 4,200
    places = len(size.partition(".")[2])
    assert abs(float(size) - width * height / 1e6) <= 0.5 * 10.0 ** -places  # the size, rounded
    assert f"{width:,} × {height:,}" in str(refused.value)


@pytest.mark.parametrize("extra", [1, 3_000, 52_000, 2**20 // 2])
def test_a_file_just_over_the_byte_limit_is_told_a_size_that_exceeds_the_limit(extra):
    limit = 5 * 2**20
    with pytest.raises(ValueError) as refused:
        images.decode_image(b"\x00" * (limit + extra), max_bytes=limit)
    size, shown_limit = shown_sizes(str(refused.value))
    assert shown_limit == "5" and float(size) > 5  # "5.0 MB; the limit is 5 MB" before
    assert abs(float(size) - (limit + extra) / 2**20) <= 0.5 * 10.0 ** -len(size.partition(".")[2])


@pytest.mark.parametrize("count, limit, unit, shown", [
    (25_200_000, 25_000_000, 10**6, ("25.2 u", "25 u")),
    (12_345_679, 12_345_678, 10**6, ("12.35 u", "12.345678 u")),  # the limit exact, the count just enough
    (1_000, 333, 7, ("1,000 b", "333 b")),  # 333/7 has no short decimal: exact counts instead
])
def test_over_limit_shows_the_exact_limit_and_a_count_that_reads_larger(count, limit, unit, shown):
    assert images.over_limit(count, limit, unit, "u", "b") == shown


def step_edge_png(width: int, height: int, edge: int) -> bytes:
    """A gray PNG, black left of column ``edge`` and white from it on: tiny on disk however wide."""
    pixels = np.zeros((height, width), np.uint8)
    pixels[:, edge:] = 255
    return encoded(pixels)


def test_a_10_megapixel_strip_is_prepared_in_well_under_a_second_with_its_edge_in_place():
    data = step_edge_png(100_000, 100, 30_000)  # 10 Mpixel in about 10 kB
    assert len(data) < 100_000
    images.gray_image.clear()
    start = time.process_time()  # CPU time: a busy machine's waiting does not count
    strip = images.gray_image(images.UPLOAD, 96, data)
    assert time.process_time() - start < 1.0  # was 18 s: a Gaussian of σ ≈ 520 pixels over all 10 Mpixel
    assert strip.shape == (4, 96)  # the longer side shrunk to 96, the shorter kept at the smallest allowed
    # the edge at 30% of the width: output column 28.8 (columns 0–28 black but the one it cuts, 29– white)
    assert np.all(strip[:, :28] < 0.01) and np.all(strip[:, 30:] > 0.99)
    assert 0.05 < strip[0, 28] < 0.95 and np.ptp(strip, axis=0).max() < 1e-12  # every row alike


def test_a_large_square_png_is_box_reduced_while_decoding():
    big = np.kron(RGB[:20, :25], np.ones((100, 100, 1), np.uint8))  # 2000 × 2500, blocks of 100 pixels
    decoded = images.decode_image(encoded(big), shrink_to=192)
    assert decoded.shape == (200, 250, 3)  # reduced by 10: still ≥ 192 on the longer side
    np.testing.assert_array_equal(decoded[::10, ::10], RGB[:20, :25])  # each block is one colour: kept exactly
    assert images.decode_image(encoded(big)).shape == big.shape  # without shrink_to: every pixel


# ----------------------------------------------------------------------------- images for the pages

def test_the_sample_photograph_is_installed_and_loads_gray_in_0_1():
    assert "photo" in images.available_samples()
    photo = images.gray_image("photo", 96)
    assert photo.shape == (96, 82)  # matplotlib's grace_hopper.jpg is 600 × 512
    assert photo.min() == 0.0 and photo.max() == 1.0


def test_gray_image_serves_synthetic_images_and_uploads():
    assert images.gray_image("bars", 32).shape == (32, 32)
    upload = images.gray_image(images.UPLOAD, 20, encoded(RGB))
    assert upload.shape == (15, 20) and upload.min() == 0.0 and upload.max() == 1.0
    with pytest.raises(ValueError, match="Upload a PNG or JPEG"):
        images.gray_image(images.UPLOAD, 20, None)
    with pytest.raises(ValueError, match="not a PNG or JPEG"):
        images.gray_image(images.UPLOAD, 20, b"plain text")
    with pytest.raises(ValueError, match="not installed"):
        images.gray_image("no-such-sample", 20)


def test_a_fully_transparent_large_png_is_a_blank_image_not_a_speckle():
    data = encoded(np.zeros((400, 600, 4), np.uint8))  # every pixel transparent: white once flattened
    images.gray_image.clear()
    blank = images.gray_image(images.UPLOAD, 96, data)
    assert blank.shape == (64, 96)
    np.testing.assert_array_equal(blank, np.zeros((64, 96)))  # was 0/1 speckle: the shrink's 1e-16 ripples stretched


# ----------------------------------------------------------------------------- drawing

def test_diverging_colours_are_symmetric_about_zero_with_white_at_zero():
    values = np.array([[-1.0, 0.0, 4.0]])
    rgb, scale = images.colorize(values, diverging=True)
    assert (scale.low, scale.high) == (-4.0, 4.0)
    table = (colormaps["RdBu_r"](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)
    np.testing.assert_array_equal(rgb[0], table[[96, 128, 255]])  # −1/4 of the way down, the middle, the top
    assert rgb[0, 1].min() > 240  # zero is (near) white
    assert rgb[0, 2, 0] > rgb[0, 2, 2] and rgb[0, 0, 2] > rgb[0, 0, 0]  # positive red, negative blue
    assert scale.describe() == "blue −4 · white 0 · red +4"


def test_gray_colours_run_from_black_at_the_minimum_to_white_at_the_maximum():
    rgb, scale = images.colorize(np.array([[2.0, 3.0, 6.0]]), diverging=False)
    assert tuple(rgb[0, 0]) == (0, 0, 0) and tuple(rgb[0, 2]) == (255, 255, 255)
    assert scale.describe() == "black 2 · white 6"
    _, flat = images.colorize(np.zeros((3, 3)), diverging=True)
    assert flat.describe() == "every value is 0"


def test_signed_arrays_get_the_diverging_map_by_default():
    assert images.is_signed([[-1.0, 1.0]]) and images.is_signed([[-0.3, 1.0]])
    assert not images.is_signed([[-0.1, 1.0]]) and not images.is_signed([[0.0, 1.0]])
    assert images.colorize(np.array([[-2.0, 2.0]]))[1].diverging
    assert not images.colorize(np.array([[0.0, 2.0]]))[1].diverging


def test_to_png_enlarges_by_whole_pixels_and_adds_a_colour_bar():
    values = np.arange(12.0).reshape(3, 4) - 5
    png, scale = images.to_png(values, diverging=True, min_side=40)
    decoded = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert decoded.shape[1] == 40 and decoded.shape[0] > 30  # 4 columns × 10, rows plus the bar
    expected, _ = images.colorize(values, diverging=True)
    np.testing.assert_array_equal(decoded[:30:10, ::10], expected)  # every pixel is a 10 × 10 block
    bar = decoded[-1]
    assert bar[0, 2] > bar[0, 0] and bar[-1, 0] > bar[-1, 2]  # blue on the left, red on the right
    assert scale.high == 6.0
    plain, _ = images.to_png(values, min_side=40, bar=False)
    assert np.asarray(Image.open(io.BytesIO(plain))).shape[0] == 30


# ----------------------------------------------------------------------------- kernels as value cells

def _limits(spec):
    return sorted(row["value"] for row in spec["datasets"]["_limits"])


def test_a_kernel_is_drawn_as_valid_vega_lite_cells_with_values_and_symmetric_limits():
    kernel = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    spec = valid(charts.matrix(kernel))
    cells = spec["datasets"]["cells"]
    assert [row["value"] for row in cells] == kernel.reshape(-1).tolist()
    assert {(row["m"], row["n"]) for row in cells} == {(m, n) for m in range(3) for n in range(3)}
    assert _limits(spec) == [-2.0, 2.0]
    assert [row["label"] for row in cells[:3]] == ["-1.00", "0.00", "1.00"]
    assert _limits(valid(charts.matrix(kernel, domain=(-5, 5)))) == [-5, 5]


@pytest.mark.parametrize("largest, text", [(540.0, "540"), (12.3, "12.3"), (2.0, "2.00"), (0.0625, "0.062")])
def test_kernel_values_get_digits_that_suit_their_size(largest, text):
    cells = charts.matrix(np.array([[largest, 1e-14]]))["datasets"]["cells"]
    assert cells["label"].tolist()[0] == text
    assert cells["label"].tolist()[1] in ("0", "0.0", "0.00", "0.000")  # a rounding-level entry reads 0


def test_a_kernel_that_cannot_be_drawn_gives_none():
    assert charts.matrix(np.array([[1.0, np.nan]])) is None
    assert charts.matrix(np.zeros((0, 3))) is None
    assert charts.matrix(np.zeros(3)) is None
    assert _limits(valid(charts.matrix(np.zeros((2, 2))))) == [-1.0, 1.0]


def test_the_convolution_views_are_valid_vega_lite_and_hold_the_runs():
    from ui.charts import convolution as views

    spec = valid(views.kernel(np.array([[0.5, -1.0], [2.0, 0.0]]), scale=4.0))
    assert _limits(spec) == [-4.0, 4.0] and spec["width"] == 2 * 56 <= 112  # fits a fifth of the page
    assert spec["layer"][0]["encoding"]["x"]["axis"] is None and spec["layer"][0]["encoding"]["y"]["axis"] is None
    assert valid(views.kernel(np.ones((7, 7))))["width"] == 7 * 16  # a larger kernel: smaller cells, same room
    loss, error = views.learning_curves(np.array([8.0, 4.0, 2.0]), np.array([8.0, 16.0]), np.array([1.0, 0.5, 0.0]), 1,
                                        "too high")
    loss, error = valid(loss), valid(error)
    series = loss["datasets"]["series"]
    assert [r["y"] for r in series if r["series"] == "chosen η"] == [8.0, 4.0, 2.0]
    assert [r["y"] for r in series if r["series"] == "too high"] == [8.0, 16.0]
    assert loss["datasets"]["marker"] == [{"x": 1.0, "label": "step 1"}]
    assert [r["y"] for r in error["datasets"]["series"]] == [1.0, 0.5]  # 0 has no place on a log axis


def png_bytes(array: np.ndarray, mode: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_large_transparent_picture_shrunk_while_decoded_flattens_onto_white_as_the_full_one_does():
    rgba = np.zeros((400, 600, 4), np.uint8)
    rgba[1::2] = (40, 80, 120, 255)  # opaque rows between fully transparent black ones
    data = png_bytes(rgba, "RGBA")
    full, small = images.decode_image(data), images.decode_image(data, shrink_to=100)
    assert small.shape == (100, 150, 3)
    # the 4 × 4 box average of the flattened picture: transparent black counts as white, not black
    expected = full.reshape(100, 4, 150, 4, 3).mean(axis=(1, 3))
    assert np.max(np.abs(small.astype(float) - expected)) <= 1.0


def test_sixteen_bit_gray_is_shrunk_before_it_is_rescaled_to_eight_bits():
    rows = np.linspace(0, 60_000, 800).astype(np.uint16)
    gray16 = np.repeat(rows[:, None], 400, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(gray16).save(buffer, "PNG")  # mode I;16
    small = images.decode_image(buffer.getvalue(), shrink_to=100)
    assert small.shape == (200, 100) and small.dtype == np.uint8
    box = gray16.astype(float).reshape(200, 4, 100, 4).mean(axis=(1, 3))
    expected = (box - box.min()) / (box.max() - box.min()) * 255
    assert np.max(np.abs(small - expected)) <= 1.0

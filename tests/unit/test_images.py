"""Image intake: every mode becomes RGB, EXIF orientation is honoured, bad uploads are refused with
a message that names the file and the problem, and huge images are refused before decoding."""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image, features

from studio.media.images import (MAX_PIXELS, ImageRejected, fit_image, load_upload,
                                 picture_extensions, picture_formats_text)
from studio.samples import sample_images, sample_title


def encoded(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG header claiming width x height, with a tiny (incomplete) pixel stream: the file is
    a few dozen bytes, so only a decode would ever allocate width*height pixels."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def rgb_at(image: Image.Image, xy=(0, 0)) -> tuple[int, int, int]:
    assert image.mode == "RGB"
    return image.getpixel(xy)


# --- every mode to RGB --------------------------------------------------------------------------


def test_bilevel_and_grey_become_grey_rgb():
    one = Image.new("1", (4, 4), 1)
    assert rgb_at(load_upload(encoded(one), "one.png")) == (255, 255, 255)
    grey = Image.new("L", (4, 4), 100)
    assert rgb_at(load_upload(encoded(grey), "grey.png")) == (100, 100, 100)


def test_rgb_passes_through_unchanged():
    image = Image.new("RGB", (4, 4), (10, 200, 30))
    assert rgb_at(load_upload(encoded(image), "rgb.png")) == (10, 200, 30)


@pytest.mark.parametrize("alpha, expected", [(0, (255, 255, 255)), (255, (0, 0, 0)), (128, (127, 127, 127))])
def test_rgba_is_composited_on_white(alpha, expected):
    image = Image.new("RGBA", (4, 4), (0, 0, 0, alpha))
    got = rgb_at(load_upload(encoded(image), "cutout.png"))
    assert all(abs(g - e) <= 1 for g, e in zip(got, expected))


def test_grey_with_alpha_is_composited_on_white():
    image = Image.new("LA", (2, 1))
    image.putpixel((0, 0), (50, 255))
    image.putpixel((1, 0), (50, 0))
    out = load_upload(encoded(image), "la.png")
    assert rgb_at(out, (0, 0)) == (50, 50, 50)
    assert rgb_at(out, (1, 0)) == (255, 255, 255)


def test_palette_with_transparent_index_becomes_white():
    image = Image.new("P", (2, 1))
    image.putpalette([255, 0, 0, 0, 0, 255] + [0, 0, 0] * 254)
    image.putpixel((0, 0), 0)
    image.putpixel((1, 0), 1)
    data = encoded(image, transparency=1)
    assert Image.open(io.BytesIO(data)).mode == "P"
    out = load_upload(data, "palette.png")
    assert rgb_at(out, (0, 0)) == (255, 0, 0)
    assert rgb_at(out, (1, 0)) == (255, 255, 255)


def test_palette_without_transparency_keeps_its_colours():
    image = Image.new("P", (1, 1))
    image.putpalette([12, 34, 56] + [0, 0, 0] * 255)
    assert rgb_at(load_upload(encoded(image), "p.gif")) == (12, 34, 56)


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_is_converted(fmt):
    image = Image.new("CMYK", (4, 4), (255, 0, 0, 0))  # pure cyan ink
    data = encoded(image, fmt)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    red, green, blue = rgb_at(load_upload(data, f"print.{fmt.lower()}"))
    assert red < 20 and green > 235 and blue > 235


# --- embedded colour profiles -------------------------------------------------------------------
# Pillow can only make sRGB, LAB and XYZ profiles, so the test profiles are written here: a minimal
# ICC v2 display profile (header, tag table, tags) is all Little CMS needs.


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


def _gamma(value: float) -> bytes:
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(value * 256))


def _desc(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    return (b"desc\0\0\0\0" + struct.pack(">I", len(ascii_text)) + ascii_text
            + struct.pack(">IIHB", 0, 0, 0, 0) + b"\0" * 67)


_D50 = (0.9642, 1.0, 0.8249)


def icc_profile(space: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    start = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += signature + struct.pack(">II", start + len(body), len(data))
        body += data
    header = (struct.pack(">I", start + len(body)) + b"\0" * 4 + struct.pack(">I", 0x02100000) + b"mntr" + space
              + b"XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 28 + b"".join(_s15(v) for v in _D50) + b"\0" * 48)
    return header + struct.pack(">I", len(tags)) + table + body


def display_p3() -> bytes:
    """Display P3's primaries (adapted to D50, as in Apple's profile) with a plain 2.2 gamma."""
    return icc_profile(b"RGB ", [
        (b"desc", _desc("Test wide gamut")), (b"wtpt", _xyz(*_D50)),
        (b"rXYZ", _xyz(0.515121, 0.241196, -0.001053)), (b"gXYZ", _xyz(0.291977, 0.692245, 0.041885)),
        (b"bXYZ", _xyz(0.157104, 0.066574, 0.784073)),
        (b"rTRC", _gamma(2.2)), (b"gTRC", _gamma(2.2)), (b"bTRC", _gamma(2.2)),
    ])


def linear_grey() -> bytes:
    """A grey profile whose values are linear light: mid-grey 128 is much lighter in sRGB."""
    return icc_profile(b"GRAY", [(b"desc", _desc("Test linear grey")), (b"wtpt", _xyz(*_D50)), (b"kTRC", _gamma(1.0))])


P3_RED = (200, 60, 40)
P3_RED_IN_SRGB = (219, 37, 13)  # the same colour, which lies outside sRGB's red, clipped into it


def close(got, expected, tolerance: int = 2) -> bool:
    return all(abs(g - e) <= tolerance for g, e in zip(got, expected))


def test_rgb_with_a_wide_gamut_profile_is_converted_to_srgb():
    image = Image.new("RGB", (2, 2), P3_RED)
    assert close(rgb_at(load_upload(encoded(image, icc_profile=display_p3()), "p3.png")), P3_RED_IN_SRGB)


def test_rgba_with_a_wide_gamut_profile_converts_like_rgb():
    profile = display_p3()
    opaque = load_upload(encoded(Image.new("RGB", (2, 2), P3_RED), icc_profile=profile), "p3.png")
    image = Image.new("RGBA", (2, 1), (*P3_RED, 255))
    image.putpixel((1, 0), (*P3_RED, 0))
    out = load_upload(encoded(image, icc_profile=profile), "p3-cutout.png")
    assert rgb_at(out, (0, 0)) == rgb_at(opaque)
    assert close(rgb_at(out, (0, 0)), P3_RED_IN_SRGB)
    assert rgb_at(out, (1, 0)) == (255, 255, 255)  # transparent areas still become the white background


def test_half_transparent_p3_is_converted_before_it_is_laid_on_white():
    image = Image.new("RGBA", (1, 1), (*P3_RED, 128))
    out = rgb_at(load_upload(encoded(image, icc_profile=display_p3()), "p3-glass.png"))
    expected = tuple(round((c * 128 + 255 * 127) / 255) for c in P3_RED_IN_SRGB)
    assert close(out, expected)


def test_palette_with_a_wide_gamut_profile_is_converted():
    image = Image.new("P", (2, 1))
    image.putpalette([*P3_RED, 0, 0, 255] + [0, 0, 0] * 254)
    image.putpixel((1, 0), 1)
    data = encoded(image, icc_profile=display_p3())
    assert Image.open(io.BytesIO(data)).mode == "P"
    assert close(rgb_at(load_upload(data, "p3-palette.png")), P3_RED_IN_SRGB)
    with_transparency = encoded(image, icc_profile=display_p3(), transparency=1)
    out = load_upload(with_transparency, "p3-palette-cutout.png")
    assert close(rgb_at(out, (0, 0)), P3_RED_IN_SRGB)
    assert rgb_at(out, (1, 0)) == (255, 255, 255)


def test_grey_with_a_grey_profile_is_converted():
    image = Image.new("L", (2, 2), 128)
    out = rgb_at(load_upload(encoded(image, icc_profile=linear_grey()), "scan.png"))
    assert out[0] == out[1] == out[2] and 180 <= out[0] <= 195  # linear 50 % is sRGB 188


def test_grey_with_alpha_and_a_grey_profile_is_converted():
    image = Image.new("LA", (2, 1), (128, 255))
    image.putpixel((1, 0), (128, 0))
    out = load_upload(encoded(image, icc_profile=linear_grey()), "scan-cutout.png")
    red, green, blue = rgb_at(out, (0, 0))
    assert red == green == blue and 180 <= red <= 195
    assert rgb_at(out, (1, 0)) == (255, 255, 255)


def test_16_bit_grey_with_a_grey_profile_is_converted():
    image = Image.fromarray(np.full((2, 2), 32896, dtype=np.uint16))  # 128 * 257
    data = encoded(image, icc_profile=linear_grey())
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    red, green, blue = rgb_at(load_upload(data, "scan-16.png"))
    assert red == green == blue and 180 <= red <= 195


@pytest.mark.parametrize("mode, colour", [("RGB", P3_RED), ("RGBA", (*P3_RED, 255)), ("L", 128), ("LA", (128, 255))])
def test_a_corrupt_profile_is_ignored(mode, colour):
    out = load_upload(encoded(Image.new(mode, (2, 2), colour), icc_profile=b"not a colour profile"), "odd.png")
    stored = P3_RED if mode.startswith("RGB") else (128, 128, 128)
    assert rgb_at(out) == stored


def test_a_grey_profile_on_a_colour_picture_is_ignored():
    out = load_upload(encoded(Image.new("RGBA", (2, 2), (*P3_RED, 255)), icc_profile=linear_grey()), "mixed.png")
    assert rgb_at(out) == P3_RED


def test_16_bit_grey_is_scaled_not_clipped():
    values = np.array([[0, 257 * 64, 32768, 65535]], dtype=np.uint16)
    image = Image.fromarray(values)
    assert image.mode == "I;16"
    data = encoded(image)
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    out = np.asarray(load_upload(data, "scan.png"))[0, :, 0]
    assert out.tolist() == [0, 64, 128, 255]


def test_32_bit_integer_holding_16_bit_data_is_scaled():
    image = Image.fromarray(np.array([[0, 32768, 65535]], dtype=np.int32))
    assert image.mode == "I"
    out = np.asarray(load_upload(encoded(image, "TIFF"), "deep.tif"))[0, :, 0]
    assert out.tolist() == [0, 128, 255]


def test_float_image_in_unit_range_is_scaled():
    image = Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32))
    assert image.mode == "F"
    out = np.asarray(load_upload(encoded(image, "TIFF"), "float.tif"))[0, :, 0]
    assert out.tolist() == [0, 128, 255]


def test_ycbcr_tiff_is_converted():
    image = Image.new("RGB", (4, 4), (200, 40, 40)).convert("YCbCr")
    red, green, blue = rgb_at(load_upload(encoded(image, "TIFF"), "ycc.tif"))
    assert red > 180 and green < 70 and blue < 70


# --- orientation ---------------------------------------------------------------------------------


def test_exif_orientation_is_applied():
    # Stored landscape: left half red. Orientation 6 means "rotate 90 degrees clockwise to view",
    # so the viewer sees a portrait picture with the red half on top.
    stored = Image.new("RGB", (40, 20), (255, 255, 255))
    stored.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = load_upload(encoded(stored, "JPEG", exif=exif.tobytes(), quality=95), "phone.jpg")
    assert out.size == (20, 40)
    top, bottom = rgb_at(out, (10, 5)), rgb_at(out, (10, 35))
    assert top[0] > 200 and top[1] < 60
    assert min(bottom) > 200


# --- refusals --------------------------------------------------------------------------------------


def test_empty_upload_is_refused():
    with pytest.raises(ImageRejected, match=r"photo\.png is empty \(0 bytes\)"):
        load_upload(b"", "photo.png")


def test_text_named_png_is_refused_as_text():
    with pytest.raises(ImageRejected, match=r"photo\.png is not an image Pillow can read \(it looks like text\)"):
        load_upload(b"Hello, this is a note and not a picture.\n", "photo.png")


def test_truncated_png_is_refused():
    data = encoded(Image.effect_noise((64, 64), 40).convert("RGB"))
    with pytest.raises(ImageRejected, match=r"photo\.png is truncated or corrupt"):
        load_upload(data[: len(data) // 2], "photo.png")


def test_corrupt_pixel_data_is_refused():
    data = bytearray(encoded(Image.effect_noise((64, 64), 40).convert("RGB")))
    data[200] ^= 0xFF  # inside the compressed pixel stream
    with pytest.raises(ImageRejected, match=r"photo\.png is truncated or corrupt"):
        load_upload(bytes(data), "photo.png")


def test_damaged_header_says_it_looks_like_a_png():
    with pytest.raises(ImageRejected, match=r"starts like a PNG but is damaged"):
        load_upload(b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "photo.png")


def test_pdf_is_named():
    with pytest.raises(ImageRejected, match="PDF"):
        load_upload(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "scan.png")


def test_message_without_a_name_still_reads_well():
    with pytest.raises(ImageRejected, match=r"^The uploaded file is empty"):
        load_upload(b"")


# --- which files the uploaders take ---------------------------------------------------------------


def test_every_picture_format_taken_is_one_this_pillow_opens():
    Image.init()
    opened = {ext.lstrip(".") for ext, plugin in Image.registered_extensions().items() if plugin in Image.OPEN}
    assert set(picture_extensions()) <= opened
    assert {"png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff", "gif"} <= set(picture_extensions())


def test_avif_is_taken_and_named_exactly_where_pillow_decodes_it():
    decodes = features.check("avif")
    assert ("avif" in picture_extensions()) == decodes
    assert ("AVIF" in picture_formats_text()) == decodes
    if decodes:
        image = load_upload(encoded(Image.new("RGB", (32, 24), (200, 60, 40)), "AVIF"), "phone.avif")
        assert image.size == (32, 24) and close(rgb_at(image), (200, 60, 40), tolerance=8)


def test_format_help_is_a_plain_list():
    text = picture_formats_text()
    assert text.startswith("PNG, JPEG, WebP") and " or " in text and "GIF (first frame)" in text


@pytest.mark.parametrize("name, data, said", [
    ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>', "it is an SVG drawing; export it as PNG"),
    ("page.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "it is a PDF document"),
    ("phone.heic", b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", "it is a HEIC/HEIF photo"),
])
def test_files_the_uploaders_let_through_for_explaining_get_a_sentence(name, data, said):
    with pytest.raises(ImageRejected) as refused:
        load_upload(data, name)
    assert name in refused.value.message and said in refused.value.message


def test_decompression_bomb_is_refused_without_decoding():
    data = png_header_only(30000, 30000)
    assert len(data) < 200
    started = time.perf_counter()
    with pytest.raises(ImageRejected, match=r"bomb\.png is about 900 megapixels; the studio accepts images up to 40 megapixels"):
        load_upload(data, "bomb.png")
    assert time.perf_counter() - started < 0.5  # decoding 900 MP would take many seconds and ~2.7 GB


def test_image_over_the_studio_cap_is_refused_with_its_size():
    # 8000x6000 = 48 MP: under Pillow's own bomb limit, over the studio's; the message gives both.
    assert 8000 * 6000 > MAX_PIXELS
    started = time.perf_counter()
    with pytest.raises(ImageRejected, match=r"big\.png is 8000x6000 pixels \(48\.0 megapixels\).*up to 40 megapixels"):
        load_upload(png_header_only(8000, 6000), "big.png")
    assert time.perf_counter() - started < 0.5


# --- fitting ---------------------------------------------------------------------------------------


def centre_marked(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), (0, 0, 255))
    image.paste((255, 0, 0), (width // 2 - 4, height // 2 - 4, width // 2 + 4, height // 2 + 4))
    return image


@pytest.mark.parametrize("size", [(64, 48), (48, 64), (33, 17), (200, 200)])
def test_crop_fills_the_frame_and_keeps_the_centre(size):
    out = fit_image(centre_marked(120, 60), *size, "crop")
    assert out.size == size and out.mode == "RGB"
    assert rgb_at(out, (size[0] // 2, size[1] // 2))[0] > 200  # the red centre survives
    corners = [rgb_at(out, xy) for xy in [(0, 0), (size[0] - 1, size[1] - 1)]]
    assert all(c[2] > 200 for c in corners)  # no bars: the corners are picture (blue)


def test_pad_keeps_everything_and_adds_bars():
    out = fit_image(centre_marked(120, 60), 64, 64, "pad", pad_color=(0, 255, 0))
    assert out.size == (64, 64)
    assert rgb_at(out, (32, 2)) == (0, 255, 0)  # bar above
    assert rgb_at(out, (32, 61)) == (0, 255, 0)  # bar below
    assert rgb_at(out, (1, 32))[2] > 200  # the picture spans the full width


def test_fit_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="crop, pad"):
        fit_image(centre_marked(10, 10), 8, 8, "stretch")


# --- samples ---------------------------------------------------------------------------------------


def test_samples_are_small_readable_images_with_titles():
    samples = sample_images()
    assert len(samples) >= 3
    assert [s.path.name for s in samples] == sorted(s.path.name for s in samples)
    for sample in samples:
        assert sample.path.stat().st_size < 300 * 1024
        image = load_upload(sample.path.read_bytes(), sample.path.name)
        assert image.size == (768, 512)
        assert sample.title and sample.title[0].isupper() and "_" not in sample.title
    assert sample_title(samples[0].path.with_name("city_at_dusk.png")) == "City at dusk"

"""Image intake: turn whatever a creator uploads into a plain RGB picture, or say clearly why not.

Every upload goes through `load_upload`: the size is checked from the header *before* any pixels
are decoded (a 30000x30000 PNG is a few kilobytes on disk and gigabytes in memory), the camera's
EXIF orientation is applied, and every Pillow mode is brought to 8-bit RGB. Engines then receive
`fit_image(...)` of it at exactly the output size.
"""

from __future__ import annotations

import functools
import io
import re
import struct
import zlib

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError, features

# Largest accepted upload. 40 MP covers every phone and most DSLRs (a 45 MP body is the exception
# and can be scaled down); decoding it costs about 160 MB as RGBA, which a laptop can afford.
MAX_PIXELS = 40_000_000
# The largest image file taken, as on the pages (.streamlit/config.toml maxUploadSize) and the API.
MAX_FILE_BYTES = 200 * 1024 * 1024

# Transparent areas become white: uploads with alpha are mostly logos and cut-outs drawn on white.
ALPHA_BACKGROUND = (255, 255, 255)

FIT_MODES = ("crop", "pad")

# The picture formats the intake takes: (the name people know it by, its file name endings, the
# Pillow feature it needs, or None where every Pillow decodes it). AVIF and JPEG 2000 depend on how
# Pillow was built, so `picture_formats` asks this installation. The pages' uploaders, their help
# and the CLI's --folder all follow this one list.
_PICTURE_FORMATS = (
    ("PNG", ("png", "apng"), None),
    ("JPEG", ("jpg", "jpeg", "jpe", "jfif"), "jpg"),
    ("WebP", ("webp",), "webp"),
    ("AVIF", ("avif",), "avif"),
    ("BMP", ("bmp", "dib"), None),
    ("TIFF", ("tif", "tiff"), None),
    ("GIF (first frame)", ("gif",), None),
    ("JPEG 2000", ("jp2", "j2k", "jpf", "jpx"), "jpg_2000"),
    ("TGA", ("tga",), None),
    ("PPM", ("ppm", "pgm", "pbm", "pnm"), None),
    ("QOI", ("qoi",), None),
)


# What a failed decode tends to raise: truncated streams, broken chunks, bad zlib data.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError)


class ImageRejected(ValueError):
    """An upload the studio cannot use; the message is written for the person who uploaded it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def load_upload(data: bytes, name: str = "") -> Image.Image:
    """Decode an uploaded file into an RGB image with EXIF orientation applied.

    Raises ImageRejected (naming the file) when it is empty, not an image, truncated or corrupt,
    or larger than MAX_PIXELS.
    """
    label = name or "The uploaded file"
    if not data:
        raise ImageRejected(f"{label} is empty (0 bytes). Choose the file again; the upload may have been interrupted.")

    # 1. Read the header only: Image.open parses sizes and modes but decodes nothing yet.
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        raise ImageRejected(_too_large_from_pillow(label, str(error))) from None
    except UnidentifiedImageError:
        raise ImageRejected(f"{label} is not an image Pillow can read ({_describe_content(data)}).") from None
    except _DECODE_ERRORS as error:
        raise ImageRejected(f"{label} looks like an image but its header is damaged ({error}). Re-export or re-download it.") from None
    except Image.DecompressionBombWarning as warning:  # only raised when warnings are turned into errors
        raise ImageRejected(_too_large_from_pillow(label, str(warning))) from None

    # 2. Refuse huge images before their pixels are allocated.
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageRejected(
            f"{label} is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels); the studio accepts "
            f"images up to {MAX_PIXELS / 1e6:.0f} megapixels. Scale it down and upload it again."
        )
    if width < 1 or height < 1:
        raise ImageRejected(f"{label} has no pixels ({width}x{height}).")

    # 3. Decode. Truncated files are refused rather than silently padded with grey.
    try:
        image.load()
    except _DECODE_ERRORS as error:
        raise ImageRejected(
            f"{label} is truncated or corrupt ({_pillow_reason(error)}). Re-export or re-download it and upload it again."
        ) from None

    # 4. Stand the photo up the way the camera meant it. A broken EXIF block is not worth refusing
    # the picture for, so the image is then used as stored.
    try:
        image = ImageOps.exif_transpose(image)
    except _DECODE_ERRORS:
        pass

    return to_rgb(image, label)


@functools.cache
def picture_formats() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(name, file name endings) of each picture format this installation of Pillow decodes."""
    return tuple((name, endings) for name, endings, feature in _PICTURE_FORMATS
                 if feature is None or features.check(feature))


def picture_extensions() -> tuple[str, ...]:
    """The file name endings (lower case, no dot) of the pictures the studio decodes here."""
    return tuple(ending for _, endings in picture_formats() for ending in endings)


def picture_formats_text() -> str:
    """The formats in words, for help texts: "PNG, JPEG, … or QOI"."""
    names = [name for name, _ in picture_formats()]
    return f"{', '.join(names[:-1])} or {names[-1]}"


def to_rgb(image: Image.Image, label: str = "The image") -> Image.Image:
    """Any Pillow mode to 8-bit RGB: an embedded colour profile is converted to sRGB when possible,
    alpha is composited on white, and 16-bit and float data are scaled into 0..255 (not clipped)."""
    mode = image.mode
    # Read before any conversion: Pillow's conversions keep `info`, but a rebuilt image (the 16-bit
    # branch) does not, and the profile describes the stored pixels whatever happens to them here.
    profile = image.info.get("icc_profile")
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        grey = Image.fromarray(_scale_to_uint8(np.asarray(image), mode))
        converted = _profile_to_srgb(grey, profile) if profile else None
        return converted if converted is not None else grey.convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        # The colours are brought to sRGB first and only then laid on the (sRGB) background, so a
        # phone's P3 cut-out looks the same as the opaque photo it came from.
        converted = _profile_to_srgb(image, profile) if profile else None
        if converted is not None:
            converted.putalpha(rgba.getchannel("A"))
            rgba = converted
        background = Image.new("RGBA", rgba.size, (*ALPHA_BACKGROUND, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if profile:
        converted = _profile_to_srgb(image, profile)
        if converted is not None:
            return converted
    if mode == "RGB":
        return image
    try:
        return image.convert("RGB")
    except (ValueError, OSError):
        raise ImageRejected(
            f"{label} uses the {mode} colour mode, which the studio cannot convert. Save it as an ordinary RGB PNG or JPEG."
        ) from None


def fit_image(
    image: Image.Image,
    width: int,
    height: int,
    mode: str = "crop",
    *,
    pad_color: tuple[int, int, int] = (0, 0, 0),
) -> Image.Image:
    """Resize `image` to exactly width x height (Lanczos).

    crop: scale to cover the frame and trim the overflow equally from both sides (no bars).
    pad: scale to fit inside the frame and fill the rest with `pad_color` (nothing trimmed).
    """
    if width < 1 or height < 1:
        raise ValueError(f"fit_image needs a positive size; got {width}x{height}.")
    if mode not in FIT_MODES:
        raise ValueError(f"Fit mode must be one of {', '.join(FIT_MODES)}; got {mode!r}.")
    if image.mode != "RGB":
        image = to_rgb(image)
    src_w, src_h = image.size
    if mode == "crop":
        scale = max(width / src_w, height / src_h)
        crop_w, crop_h = width / scale, height / scale
        left, top = (src_w - crop_w) / 2, (src_h - crop_h) / 2
        # A float box keeps the crop exactly centred; reducing_gap first shrinks huge photos by an
        # integer factor (cheap) and then Lanczos does the rest, with no visible difference.
        return image.resize((width, height), Image.Resampling.LANCZOS,
                            box=(left, top, left + crop_w, top + crop_h), reducing_gap=3.0)
    scale = min(width / src_w, height / src_h)
    inner = (min(width, max(1, round(src_w * scale))), min(height, max(1, round(src_h * scale))))
    resized = image.resize(inner, Image.Resampling.LANCZOS, reducing_gap=3.0)
    canvas = Image.new("RGB", (width, height), tuple(pad_color))
    canvas.paste(resized, ((width - inner[0]) // 2, (height - inner[1]) // 2))
    return canvas


def _scale_to_uint8(values: np.ndarray, mode: str) -> np.ndarray:
    """Map high-bit-depth greyscale to 0..255 by its nominal range, so a 16-bit photo keeps its tones
    instead of turning white where Pillow's own conversion would clip at 255."""
    values = values.astype(np.float64)
    if mode.startswith("I;16"):
        scaled = values / 257.0  # 65535 -> 255
    else:
        values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
        low, high = float(values.min(initial=0.0)), float(values.max(initial=0.0))
        if mode == "F" and low >= 0.0 and high <= 1.0:
            scaled = values * 255.0  # float images are usually 0..1
        elif low >= 0.0 and high <= 255.0:
            scaled = values
        elif low >= 0.0 and high <= 65535.0:
            scaled = values / 257.0  # 32-bit container holding 16-bit data (older 16-bit PNGs)
        else:
            scaled = (values - low) * (255.0 / (high - low))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


# Modes whose pixels a grey (GRAY) profile can describe.
_GREY_MODES = ("1", "L", "LA", "La")


def _profile_to_srgb(image: Image.Image, profile: bytes) -> Image.Image | None:
    """The colours of `image` (any mode; alpha is left out) converted from the embedded ICC profile to
    sRGB, as an RGB image (phones embed Display P3; scanners embed grey profiles). None when the
    profile is broken, exotic or does not fit the pixels, and the caller then converts naively."""
    try:
        from PIL import ImageCms

        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        space = source.profile.xcolor_space.strip()
        # Little CMS needs the pixels in the layout the profile describes: grey values for a GRAY
        # profile, RGB (palette looked up, alpha dropped) for an RGB one, inks for a CMYK one.
        if space == "GRAY" and image.mode in _GREY_MODES:
            colour = image.convert("L") if image.mode in ("1", "L") else image.convert("LA").getchannel("L")
        elif space == "RGB" and image.mode not in ("CMYK", "LAB"):
            # Through RGBA, as Pillow wants for a palette with a transparent index.
            colour = image if image.mode == "RGB" else image.convert("RGBA").convert("RGB")
        elif space == "CMYK" and image.mode == "CMYK":
            colour = image
        else:
            return None  # e.g. a grey profile on a colour picture: the profile cannot be right
        return ImageCms.profileToProfile(colour, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except Exception:  # a broken or exotic profile must not cost the upload  # noqa: BLE001
        return None


def _describe_content(data: bytes) -> str:
    """A short guess at what a non-image upload is, so the message can say more than 'invalid'."""
    head = data[:512]
    for magic, kind in _IMAGE_SIGNATURES:
        if head.startswith(magic):
            return f"it starts like a {kind} but is damaged or truncated; re-export or re-download it"
    if head.startswith(b"%PDF"):
        return "it is a PDF document; export the page as PNG or JPEG"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "it is an AVIF image this installation cannot decode; export it as JPEG or PNG"
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
            return "it is a HEIC/HEIF photo; export it as JPEG or PNG first"
        return "it looks like a video; upload a still image"
    if head.startswith(b"PK\x03\x04"):
        return "it is a ZIP archive"
    lowered = head.lower()
    if b"<svg" in lowered:
        return "it is an SVG drawing; export it as PNG"
    if b"<html" in lowered or b"<!doctype html" in lowered:
        return "it looks like a web page (HTML), not an image"
    if _looks_like_text(head):
        return "it looks like text"
    return "the format is not recognised"


_IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


def _looks_like_text(head: bytes) -> bool:
    # The sample may end inside a multi-byte character; drop up to three trailing bytes for that.
    for cut in range(4):
        try:
            text = head[: len(head) - cut].decode("utf-8")
            break
        except UnicodeDecodeError:
            continue
    else:
        return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return printable >= 0.95 * len(text)


def _pillow_reason(error: BaseException) -> str:
    reason = str(error).strip() or type(error).__name__
    return reason[:200]


def _too_large_from_pillow(label: str, message: str) -> str:
    match = re.search(r"\((\d+) pixels\)", message)
    size = f"about {int(match.group(1)) / 1e6:.0f} megapixels" if match else "far too large"
    return (f"{label} is {size}; the studio accepts images up to {MAX_PIXELS / 1e6:.0f} megapixels. "
            "Scale it down and upload it again.")

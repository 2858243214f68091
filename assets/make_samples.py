"""Draw the sample images offered on the Generate page, so the studio can be tried without a photo.

Every picture is procedural (numpy + Pillow, fixed seeds), so running this again reproduces the
same pixels. Each scene is drawn at twice the size and scaled down, which smooths its edges.

    python assets/make_samples.py            # rewrites assets/*.png
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

WIDTH, HEIGHT = 768, 512
SUPERSAMPLE = 2
OUT_DIR = Path(__file__).resolve().parent


def main() -> None:
    for name, draw in SCENES.items():
        big = draw(WIDTH * SUPERSAMPLE, HEIGHT * SUPERSAMPLE)
        image = big.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)
        path = OUT_DIR / f"{name}.png"
        tmp = path.with_name(f".{path.stem}.partial.png")
        image.save(tmp, format="PNG", optimize=True)
        tmp.replace(path)
        print(f"{path.name}: {path.stat().st_size / 1024:.0f} KB")


# --- helpers ----------------------------------------------------------------------------------


def vertical_gradient(width: int, height: int, stops: list[tuple[float, tuple[int, int, int]]]) -> np.ndarray:
    """(H, W, 3) float image blending colour stops given as (fraction of height, rgb)."""
    positions = np.array([p for p, _ in stops])
    colours = np.array([c for _, c in stops], dtype=np.float64)
    y = np.linspace(0.0, 1.0, height)
    column = np.stack([np.interp(y, positions, colours[:, k]) for k in range(3)], axis=-1)
    return np.repeat(column[:, None, :], width, axis=1)


def ridge(width: int, rng: np.random.Generator, base: float, amplitude: float, octaves: int = 5) -> np.ndarray:
    """A hill line: a sum of sines with random phases, finer octaves quieter (y in pixels per column)."""
    x = np.linspace(0.0, 1.0, width)
    line = np.zeros(width)
    for octave in range(octaves):
        frequency = 1.5 * 2.1**octave
        line += amplitude / 1.9**octave * np.sin(2 * np.pi * (frequency * x + rng.uniform(0, 1)))
    return base + line


def fill_below(image: np.ndarray, line: np.ndarray, colour_top: tuple[int, int, int], colour_bottom: tuple[int, int, int]) -> None:
    """Paint everything under `line` with a vertical blend, in place."""
    height = image.shape[0]
    y = np.arange(height)[:, None]
    mask = y >= line[None, :]
    t = np.clip((y - line[None, :]) / (height - line.min() + 1e-6), 0.0, 1.0)[..., None]
    colour = (1 - t) * np.array(colour_top, float) + t * np.array(colour_bottom, float)
    image[mask] = colour[mask]


def disc_glow(image: np.ndarray, cx: float, cy: float, radius: float, colour: tuple[int, int, int], glow: float) -> None:
    """A bright disc with a soft halo, added in place."""
    height, width = image.shape[:2]
    y, x = np.mgrid[0:height, 0:width]
    distance = np.hypot(x - cx, y - cy)
    halo = np.exp(-np.maximum(distance - radius, 0) / glow)[..., None] * 0.55
    core = np.clip(radius + 1.5 - distance, 0, 1)[..., None]
    colour_arr = np.array(colour, float)
    image[:] = image * (1 - halo) + colour_arr * halo
    image[:] = image * (1 - core) + colour_arr * core


def to_image(array: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(np.rint(array), 0, 255).astype(np.uint8))


# --- scenes -----------------------------------------------------------------------------------


def sunrise_hills(width: int, height: int) -> Image.Image:
    rng = np.random.default_rng(11)
    sky = vertical_gradient(width, height, [(0.0, (38, 56, 120)), (0.45, (236, 150, 120)), (0.62, (255, 214, 150)), (1.0, (255, 230, 180))])
    disc_glow(sky, width * 0.63, height * 0.5, height * 0.07, (255, 244, 214), height * 0.08)
    layers = [
        (0.55, 0.05, (150, 130, 160), (170, 150, 170)),
        (0.62, 0.06, (104, 104, 140), (124, 120, 150)),
        (0.72, 0.05, (64, 86, 104), (74, 96, 110)),
        (0.84, 0.05, (34, 60, 62), (28, 48, 50)),
    ]
    for base, amplitude, top, bottom in layers:
        fill_below(sky, ridge(width, rng, base * height, amplitude * height), top, bottom)
    image = to_image(sky)
    # A few birds, for something small to follow when the camera moves.
    draw = ImageDraw.Draw(image)
    for bx, by, size in [(0.30, 0.22, 1.0), (0.34, 0.26, 0.8), (0.27, 0.28, 0.7)]:
        x, y, s = bx * width, by * height, size * height * 0.025
        draw.line([(x - s, y - s * 0.4), (x, y), (x + s, y - s * 0.4)], fill=(40, 40, 60), width=max(2, int(s * 0.18)), joint="curve")
    return image


def still_life(width: int, height: int) -> Image.Image:
    wall = vertical_gradient(width, height, [(0.0, (70, 78, 92)), (0.6, (120, 118, 122)), (0.6001, (122, 84, 58)), (1.0, (80, 52, 36))])
    # Table grain: faint horizontal streaks.
    y = np.arange(height)[:, None]
    grain = 6 * np.sin(y / height * 180.0 + 3 * np.sin(np.arange(width)[None, :] / width * 9))
    table = np.broadcast_to(y >= 0.6 * height, (height, width))
    wall += np.where(table, grain, 0)[..., None]
    image = to_image(wall)

    # Soft shadows first, then the objects on top.
    shadows = Image.new("L", (width, height), 0)
    sd = ImageDraw.Draw(shadows)
    objects = [(0.28, 0.16), (0.52, 0.12), (0.74, 0.09)]
    for cx, r in objects:
        sd.ellipse([(cx - r * 0.9) * width + r * width * 0.35, 0.74 * height - r * height * 0.25, (cx + r * 0.9) * width + r * width * 0.45, 0.74 * height + r * height * 0.25], fill=150)
    shadows = shadows.filter(ImageFilter.GaussianBlur(height * 0.02))
    image = Image.composite(Image.new("RGB", (width, height), (30, 20, 16)), image, shadows)

    # A simple cube behind, on the left.
    draw = ImageDraw.Draw(image)
    s = height * 0.16
    x0, y0 = width * 0.06, height * 0.62
    front = [(x0, y0), (x0 + s, y0), (x0 + s, y0 - s), (x0, y0 - s)]
    top = [(x0, y0 - s), (x0 + s, y0 - s), (x0 + s * 1.4, y0 - s * 1.3), (x0 + s * 0.4, y0 - s * 1.3)]
    side = [(x0 + s, y0), (x0 + s * 1.4, y0 - s * 0.3), (x0 + s * 1.4, y0 - s * 1.3), (x0 + s, y0 - s)]
    draw.polygon(front, fill=(200, 196, 186))
    draw.polygon(top, fill=(236, 232, 224))
    draw.polygon(side, fill=(150, 146, 140))


    array = np.asarray(image).astype(np.float64)
    yy, xx = np.mgrid[0:height, 0:width]
    light = np.array([-0.5, -0.6, 0.62])
    light /= np.linalg.norm(light)
    colours = [(196, 60, 52), (70, 130, 190), (230, 190, 70)]
    for (cx, r), colour in zip(objects, colours):
        radius = r * height * 1.1
        centre_x, centre_y = cx * width, 0.74 * height - radius
        dx, dy = (xx - centre_x) / radius, (yy - centre_y) / radius
        inside = dx**2 + dy**2 <= 1.0
        dz = np.sqrt(np.clip(1.0 - dx**2 - dy**2, 0, 1))
        lambert = np.clip(dx * light[0] + dy * light[1] + dz * light[2], 0, 1)
        specular = np.clip(lambert, 0, 1) ** 40
        shade = (0.18 + 0.82 * lambert)[..., None] * np.array(colour, float) + 255 * 0.6 * specular[..., None]
        edge = np.clip((1.0 - np.sqrt(dx**2 + dy**2)) * radius, 0, 1)[..., None]  # anti-aliased rim
        array = np.where(inside[..., None], array * (1 - edge) + shade * edge, array)
    image = to_image(array)

    return image


def city_dusk(width: int, height: int) -> Image.Image:
    rng = np.random.default_rng(5)
    horizon = int(height * 0.66)
    sky = vertical_gradient(width, height, [(0.0, (22, 24, 64)), (0.35, (88, 54, 120)), (0.62, (238, 128, 92)), (0.66, (252, 176, 110)), (1.0, (252, 176, 110))])
    # Stars in the dark upper sky.
    for _ in range(140):
        x, y = rng.integers(0, width), rng.integers(0, int(height * 0.3))
        sky[y : y + 2, x : x + 2] = 200 + rng.integers(0, 55)
    image = to_image(sky)
    draw = ImageDraw.Draw(image)
    x = 0.0
    while x < width:
        w = rng.uniform(0.04, 0.09) * width
        h = rng.uniform(0.12, 0.45) * height
        shade = rng.integers(18, 40)
        draw.rectangle([x, horizon - h, x + w, horizon], fill=(shade, shade, shade + 18))
        # Lit windows on a grid, some dark.
        step_x, step_y = width * 0.012, height * 0.03
        for wx in np.arange(x + step_x * 0.8, x + w - step_x, step_x * 1.8):
            for wy in np.arange(horizon - h + step_y, horizon - step_y * 0.5, step_y):
                if rng.random() < 0.45:
                    warm = rng.integers(200, 255)
                    draw.rectangle([wx, wy, wx + step_x * 0.8, wy + step_y * 0.5], fill=(warm, int(warm * 0.82), 120))
        x += w + rng.uniform(0.0, 0.01) * width
    # Water: the scene above, mirrored, darkened and rippled.
    array = np.asarray(image).astype(np.float64)
    reflection = array[horizon - (height - horizon) : horizon][::-1].copy()
    rows = np.arange(reflection.shape[0])
    shifts = np.rint(np.sin(rows * 0.21) * (1 + rows * 0.012)).astype(int)
    for row, shift in zip(rows, shifts):
        reflection[row] = np.roll(reflection[row], shift, axis=0)
    array[horizon:] = reflection * 0.55 + np.array([10, 14, 40]) * 0.45
    return to_image(array)


def desert_dunes(width: int, height: int) -> Image.Image:
    rng = np.random.default_rng(21)
    scene = vertical_gradient(width, height, [(0.0, (70, 130, 200)), (0.5, (170, 205, 230)), (1.0, (220, 200, 170))])
    fill_below(scene, ridge(width, rng, 0.5 * height, 0.025 * height, octaves=3), (176, 150, 150), (186, 156, 140))
    y = np.arange(height)[:, None]
    x = np.arange(width)[None, :]
    for base, amplitude, lit, shadow in [(0.6, 0.06, (236, 176, 110), (170, 110, 70)), (0.78, 0.07, (244, 190, 120), (160, 98, 60))]:
        line = ridge(width, rng, base * height, amplitude * height, octaves=3)
        slope = np.gradient(line)
        below = y >= line[None, :]
        depth = np.clip((y - line[None, :]) / (0.25 * height), 0, 1)
        # The side facing the sun (rising to the right) is lit, the other in shade. Reading the
        # crest's slope further left the lower we are slants the light/shade edge like a slip face.
        sheared = np.clip(x - (y - line[None, :]) * 0.9, 0, width - 1).astype(int)
        facing = np.clip(0.5 - slope[sheared] * 1.5, 0, 1)
        lit_arr, shade_arr = np.array(lit, float), np.array(shadow, float)
        mix = (facing * (1 - 0.4 * depth))[..., None]
        painted = mix * lit_arr + (1 - mix) * shade_arr
        ripples = 6 * np.sin((x * 0.08 + y * 0.5 + 5 * np.sin(x * 0.01)))[..., None] * depth[..., None]
        scene = np.where(below[..., None], painted + ripples, scene)
    return to_image(scene)


SCENES = {
    "city_at_dusk": city_dusk,
    "desert_dunes": desert_dunes,
    "still_life": still_life,
    "sunrise_hills": sunrise_hills,
}


if __name__ == "__main__":
    main()

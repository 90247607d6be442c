"""Demo pictures: OpenMoji drawings set on a table, as stand-ins for product photos.

The drawings are OpenMoji's (CC BY-SA 4.0), vendored as PNGs under
static/vendor/openmoji/ (see its README); the pictures composed from them are
adaptations under the same licence, and each carries the credit in a corner.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image as PILImage
from PIL import ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

ART_DIR = Path(__file__).resolve().parent.parent / "static" / "vendor" / "openmoji"
WIDTH, HEIGHT = 800, 600
#: Where the table starts: the wall above, the table top below (a product shot from slightly above).
TABLE_Y = 390
CREDIT = "OpenMoji · CC BY-SA 4.0"


@dataclass(frozen=True)
class Art:
    """One OpenMoji drawing (its file is the emoji's code points), optionally recoloured.

    `hue` turns the colours round the wheel and `saturation` deepens them (a pink peach
    becomes an orange apricot); `colour`
    repaints a grey drawing in one colour, keeping its light and shade (a steel spoon
    becomes a wooden one); `light` is the input grey that becomes the lightest tone of
    `colour` (lower makes a dark drawing pale: red beans become white ones).
    """

    file: str
    hue: int = 0
    saturation: float = 1.0
    colour: tuple[int, int, int] | None = None
    light: int = 255


#: Every drawing the demo uses, by a readable name; scripts/vendor-openmoji.py vendors these files.
ART = {
    # vegetables and herbs
    "potato": Art("1F954"), "carrot": Art("1F955"), "herb": Art("1F33F"), "cucumber": Art("1F952"),
    "tomato": Art("1F345"), "onion": Art("1F9C5"), "beans": Art("1FAD8"),
    "white-beans": Art("1FAD8", colour=(226, 208, 166), light=110), "seedling": Art("1F331"),
    "potted-plant": Art("1FAB4"), "bell-pepper": Art("1FAD1"), "strawberry": Art("1F353"),
    # fruit
    "apple": Art("1F34E"), "pear": Art("1F350"), "apricot": Art("1F351", hue=40, saturation=2.4),
    "sea-buckthorn": Art("1F352", hue=16), "rosehip": Art("1F352"), "rose": Art("1F339"),
    # dairy
    "milk": Art("1F95B"), "cow": Art("1F404"), "horse": Art("1F40E"), "bowl": Art("1F963"),
    "jar": Art("1FAD9"), "cheese": Art("1F9C0"), "butter": Art("1F9C8"),
    "grain-drink": Art("1F37A", colour=(214, 178, 120)), "wheat": Art("1F33E"),
    # honey
    "honey-pot": Art("1F36F"), "honey-jar": Art("1FAD9-200D-1F7E8"), "brown-jar": Art("1FAD9-200D-1F7EB"),
    "orange-jar": Art("1FAD9-200D-1F7E7"), "bee": Art("1F41D"), "comb-cell": Art("2B21-FE0F-200D-1F7E8"),
    "pollen-cell": Art("2B21-FE0F-200D-1F7E7"), "flower": Art("1F33C"), "mountain": Art("1F3D4"),
    # bread
    "loaf": Art("E0CA"), "bread": Art("1F35E"), "flatbread": Art("1FAD3"),
    "fried-dough": Art("1F95F", hue=-12), "cookie": Art("1F36A"),
    # meat and eggs
    "meat-on-bone": Art("1F356"), "cut-of-meat": Art("1F969"), "poultry-leg": Art("1F357"),
    "sheep": Art("1F411"), "chicken": Art("1F414"), "nest-with-eggs": Art("1FABA"),
    # tea
    "hot-drink": Art("2615"),
    # felt, ceramics, wood
    "yarn": Art("1F9F6"), "ram": Art("1F40F"), "felt-slippers": Art("1FA70", colour=(150, 122, 98)),
    "slippers": Art("1FA70"), "teddy-bear": Art("1F9F8"), "handbag": Art("1F45C"),
    "bowl-cup": Art("1F375"), "jug": Art("1F3FA"), "plate": Art("1F37D"),
    "teapot": Art("1FAD6", colour=(52, 92, 170)), "wooden-spoon": Art("1F944", colour=(160, 102, 46)),
    "log": Art("1FAB5"), "knife": Art("1F52A"), "toy-horse": Art("1F3A0", colour=(178, 118, 58)),
    "chest": Art("1FA8E"), "lute": Art("1FA95", colour=(168, 104, 44)),
    # people and places
    "woman-farmer": Art("1F469-200D-1F33E"), "man-farmer": Art("1F468-200D-1F33E"),
    "farmer": Art("1F9D1-200D-1F33E"), "woman-artist": Art("1F469-200D-1F3A8"),
    "man-artist": Art("1F468-200D-1F3A8"), "artist": Art("1F9D1-200D-1F3A8"),
    "woman-cook": Art("1F469-200D-1F373"), "man-cook": Art("1F468-200D-1F373"), "cook": Art("1F9D1-200D-1F373"),
    "basket": Art("1F9FA"),
}

#: Item centres and sizes (px, about the longest side) on the 800×600 picture. Everything stays in the
#: middle 600×600, so a square or round crop (a thumbnail, an avatar) still shows it.
LAYOUTS = {
    "one": [(400, 296, 380)],
    # a heap, as loose produce lies on a stall: two behind, one in front
    "pile": [(290, 256, 265), (510, 252, 265), (400, 330, 305)],
    "pair": [(315, 292, 305), (495, 314, 305)],
    # a piece of honeycomb: six cells round one (the cells are pointy-topped hexagons)
    "comb": [(400, 300, 165)] + [(400 + dx, 300 + dy, 165) for dx, dy in
                                 ((143, 0), (-143, 0), (72, -124), (-72, -124), (72, 124), (-72, 124))],
}
#: A market stall's counter: two goods at the back, a basket in the middle, two in front.
STALL = [(235, 305, 150), (565, 305, 150), (400, 380, 215), (165, 412, 165), (635, 412, 165)]
#: A second, smaller drawing says where a thing comes from (milk and a cow) or what it is for.
COMPANION = (590, 385, 215)
#: ... and the main drawing moves over to make room for it.
COMPANION_SHIFT = -45


@dataclass(frozen=True)
class Look:
    """What one demo picture shows: a drawing laid out one way, and maybe a smaller second one."""

    art: str
    layout: str = "one"
    companion: str | None = None


#: The picture when nothing better is known: a market basket.
FALLBACK = Look("basket")

#: Soft background by category: (wall, table top).
TINTS = {
    "vegetables": ((233, 240, 222), (205, 178, 140)), "fruit": ((250, 236, 220), (201, 165, 124)),
    "dairy": ((228, 236, 242), (214, 200, 178)), "meat": ((244, 232, 226), (196, 170, 140)),
    "honey": ((252, 240, 210), (190, 146, 100)), "bread": ((246, 236, 218), (182, 138, 96)),
    "preserves": ((248, 230, 222), (200, 160, 120)), "seeds": ((226, 238, 220), (170, 134, 100)),
    "textiles": ((240, 228, 236), (170, 150, 140)), "ceramics": ((242, 230, 220), (180, 150, 128)),
    "wood": ((236, 236, 228), (196, 166, 124)), "herbs": ((226, 240, 232), (200, 176, 140)),
}
DEFAULT_TINT = ((240, 236, 226), (200, 174, 140))

#: Producer pictures by kind (the person who makes it), in the person's own form where known.
FIGURES = {"farmer": "farmer", "craftsman": "artist", "processor": "cook"}


def producer_look(kind: str, person: str | None, main: Look, main_category: str) -> Look:
    """A producer's picture: a farmer, craftsman or cook (a beekeeper's bee), with what they sell most."""
    if main_category == "honey":
        return Look("bee", companion=main.art)
    figure = FIGURES.get(kind, "farmer")
    return Look(f"{person}-{figure}" if person else figure, companion=main.art)


def demo_picture(look: Look, category: str) -> io.BytesIO:
    """An 800×600 JPEG: the look's drawings on a table tinted by the category."""
    wall, table = TINTS.get(category, DEFAULT_TINT)
    canvas = _table(wall, table).copy()
    shift = COMPANION_SHIFT if look.companion else 0
    items = [(ART[look.art], x + shift, y, size) for x, y, size in LAYOUTS[look.layout]]
    if look.companion:
        items.append((ART[look.companion], *COMPANION))
    _place(canvas, items)
    return _encoded(canvas)


def market_picture(items: list[str], awning: tuple[tuple[int, int, int], tuple[int, int, int]]) -> io.BytesIO:
    """An 800×600 JPEG of a market stall: a striped awning and five goods on its counter (see STALL)."""
    canvas = _table((246, 240, 228), (176, 132, 92)).copy()
    _awning(canvas, *awning)
    _place(canvas, sorted(((ART[name], *spot) for name, spot in zip(items, STALL)), key=lambda item: item[2]))
    return _encoded(canvas)


def art_path(art: Art) -> Path:
    return ART_DIR / f"{art.file}.png"


@lru_cache(maxsize=None)
def _drawing(art: Art) -> PILImage.Image:
    """The drawing trimmed to what it shows, recoloured; cached, as a seed draws each many times."""
    with PILImage.open(art_path(art)) as source:
        image = source.convert("RGBA")
    image = image.crop(image.getchannel("A").getbbox())
    alpha = image.getchannel("A")
    if art.hue:
        h, s, v = image.convert("RGB").convert("HSV").split()
        h = h.point(lambda value: (value + round(art.hue * 256 / 360)) % 256)
        image = PILImage.merge("HSV", (h, s, v)).convert("RGB")
    if art.saturation != 1.0:
        image = ImageEnhance.Color(image.convert("RGB")).enhance(art.saturation)
    if art.colour:
        paler = tuple(min(255, c + (255 - c) * 3 // 4) for c in art.colour)
        image = ImageOps.colorize(image.convert("L"), black=(0, 0, 0), mid=art.colour, white=paler,
                                  blackpoint=0, midpoint=art.light // 2, whitepoint=art.light)
    image = image.convert("RGBA")
    image.putalpha(alpha)
    return image


@lru_cache(maxsize=None)
def _table(wall: tuple[int, int, int], table: tuple[int, int, int]) -> PILImage.Image:
    """A wall lit from above and a table top with a few soft grain lines."""
    canvas = PILImage.new("RGB", (WIDTH, HEIGHT), wall)
    draw = ImageDraw.Draw(canvas)
    for y in range(TABLE_Y):
        shade = 1 - 0.06 * y / TABLE_Y  # the light falls off towards the table
        draw.line([(0, y), (WIDTH, y)], fill=tuple(round(c * shade) for c in wall))
    for y in range(TABLE_Y, HEIGHT):
        shade = 0.94 + 0.06 * (y - TABLE_Y) / (HEIGHT - TABLE_Y)  # nearer edge, more light
        draw.line([(0, y), (WIDTH, y)], fill=tuple(round(c * shade) for c in table))
    grain = tuple(round(c * 0.9) for c in table)
    for i, y in enumerate(range(TABLE_Y + 28, HEIGHT, 46)):
        draw.line([(0, y), (WIDTH, y + 6 * (-1) ** i)], fill=grain, width=2)
    draw.line([(0, TABLE_Y), (WIDTH, TABLE_Y)], fill=tuple(round(c * 0.82) for c in table), width=3)
    return canvas


def _place(canvas: PILImage.Image, items) -> None:
    """Draw each item at its centre and size, with a soft shadow on the table under it."""
    # Shadows are drawn at a quarter of the size and blurred there: the same softness, far faster.
    shadows = PILImage.new("L", (canvas.width // 4, canvas.height // 4), 0)
    shadow_draw = ImageDraw.Draw(shadows)
    scaled = []
    for art, x, y, size in items:
        drawing = _drawing(art)
        longest, area = max(drawing.size), drawing.width * drawing.height
        # Sized between the longest side and the area, so a flat slipper is not lost beside a round
        # apple, and a thin spoon does not fill the frame.
        scale = min(size / (longest * area ** 0.5) ** 0.5, 1.3 * size / longest)
        image = drawing.resize((round(drawing.width * scale), round(drawing.height * scale)),
                               PILImage.Resampling.LANCZOS)
        left, top = x - image.width // 2, y - image.height // 2
        bottom = top + image.height
        shadow_draw.ellipse(((left + image.width * 0.1) / 4, (bottom - 14) / 4,
                             (left + image.width * 0.9) / 4, (bottom + 14) / 4), fill=90)
        scaled.append((image, left, top))
    shadows = shadows.filter(ImageFilter.GaussianBlur(3)).resize(canvas.size, PILImage.Resampling.BILINEAR)
    canvas.paste((40, 30, 20), (0, 0), shadows)
    for image, left, top in scaled:
        canvas.paste(image, (left, top), image)


def _awning(canvas: PILImage.Image, first: tuple[int, int, int], second: tuple[int, int, int]) -> None:
    """Stripes of the stall's canvas roof, ending in scallops."""
    draw = ImageDraw.Draw(canvas)
    stripe, depth = 100, 120
    for i, x in enumerate(range(0, WIDTH, stripe)):
        colour = first if i % 2 == 0 else second
        draw.rectangle((x, 0, x + stripe, depth), fill=colour)
        draw.pieslice((x, depth - stripe // 2, x + stripe, depth + stripe // 2), 0, 180, fill=colour)


def _credit(canvas: PILImage.Image) -> None:
    """The licence asks for the credit where the picture is shown: small, in the corner."""
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=16)
    width = draw.textlength(CREDIT, font=font)
    draw.text((WIDTH - width - 10, HEIGHT - 24), CREDIT, font=font, fill=(90, 80, 70))


def _encoded(canvas: PILImage.Image) -> io.BytesIO:
    _credit(canvas)
    buffer = io.BytesIO()
    # save_image re-encodes it at once: a near-lossless JPEG is six times faster to write than a PNG.
    canvas.save(buffer, "JPEG", quality=95)
    buffer.seek(0)
    return buffer

"""Writes graphics/: synthetic non-photographic images made with Pillow, the content the lossless
fallback is for (checkerboards, text, line art, a flat-colour screenshot, an icon with alpha).

    .venv/bin/python Tests/PaneImageIOTests/Fixtures/make_graphics_fixtures.py
"""
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parent / "graphics"


def main():
    OUT.mkdir(exist_ok=True)
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    board = Image.new("RGB", (32, 32))
    board.putdata([colours[(x // 4 + y // 4) % 4] for y in range(32) for x in range(32)])
    board.save(OUT / "checkerboard_32.png")
    fine = Image.new("L", (160, 96))
    fine.putdata([255 * ((x + y) % 2) for y in range(96) for x in range(160)])
    fine.save(OUT / "checker_1px_160x96.png")

    font = ImageFont.load_default(size=14)
    text = Image.new("RGB", (240, 90), "white")
    draw = ImageDraw.Draw(text)
    for i, line in enumerate(["The quick brown fox jumps", "over the lazy dog 0123456789", "Pane: exact where it must be"]):
        draw.text((6, 6 + 26 * i), line, fill="black", font=font)
    text.save(OUT / "text_240x90.png")

    art = Image.new("RGB", (200, 150), (250, 250, 245))
    draw = ImageDraw.Draw(art)
    for i in range(0, 200, 12):
        draw.line([(i, 0), (199 - i, 149)], fill=(20, 40, 160), width=1)
    draw.ellipse([40, 30, 160, 120], outline=(200, 30, 30), width=3)
    art.save(OUT / "line_art_200x150.png")

    shot = Image.new("RGB", (320, 200), (236, 236, 236))
    draw = ImageDraw.Draw(shot)
    draw.rectangle([0, 0, 319, 24], fill=(48, 96, 176))
    draw.text((8, 4), "Settings", fill="white", font=font)
    for i in range(5):
        y = 36 + 30 * i
        draw.rectangle([12, y, 307, y + 22], fill="white", outline=(200, 200, 200))
        draw.text((20, y + 3), f"Option {i + 1}: enabled", fill=(30, 30, 30), font=font)
        draw.rectangle([280, y + 5, 296, y + 17], fill=(60, 170, 90) if i % 2 else (190, 190, 190))
    shot.save(OUT / "screenshot_320x200.png")

    icon = Image.new("RGBA", (48, 48), (0, 0, 0, 0))
    draw = ImageDraw.Draw(icon)
    draw.ellipse([4, 4, 43, 43], fill=(240, 160, 20, 255), outline=(120, 60, 0, 255), width=2)
    draw.text((17, 14), "P", fill=(255, 255, 255, 255), font=font)
    icon.save(OUT / "icon_48_rgba.png")


if __name__ == "__main__":
    main()

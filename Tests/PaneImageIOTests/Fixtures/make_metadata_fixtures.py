"""Writes metadata/: images whose metadata Pane must keep, made with Pillow (an independent writer).

    .venv/bin/python Tests/PaneImageIOTests/Fixtures/make_metadata_fixtures.py

- reference.png: a 12 × 8 pattern, no metadata: what every orientation fixture shows.
- orient_N.png / orient_N.jpg (N = 1…8): the pattern stored so that a viewer applying EXIF
  orientation N shows reference.png (JPEG at quality 100, 4:4:4).
- all.png / all.jpg: an ICC profile (Pillow's sRGB), EXIF (orientation 1, a camera make) and XMP.
- big_icc.jpg: a 100,000-byte ICC blob, which JPEG splits over two APP2 segments.
"""
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, PngImagePlugin

OUT = Path(__file__).resolve().parent / "metadata"
XMP = b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta><?xpacket end="w"?>'

# The stored image for orientation N is the displayed one put through the inverse transform.
STORE = {
    1: lambda im: im,
    2: lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    3: lambda im: im.transpose(Image.Transpose.ROTATE_180),
    4: lambda im: im.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
    5: lambda im: im.transpose(Image.Transpose.TRANSPOSE),
    6: lambda im: im.transpose(Image.Transpose.ROTATE_90),   # shown after turning 90° clockwise
    7: lambda im: im.transpose(Image.Transpose.TRANSVERSE),
    8: lambda im: im.transpose(Image.Transpose.ROTATE_270),  # shown after turning 90° anticlockwise
}


def exif(orientation: int) -> bytes:
    e = Image.Exif()
    e[0x0112] = orientation
    e[0x010F] = "Pane test camera"
    return e.tobytes()


def main():
    OUT.mkdir(exist_ok=True)
    y, x = np.mgrid[0:8, 0:12]
    pattern = np.stack([x * 20, y * 30, (x + 2 * y) * 9], axis=-1).astype(np.uint8)
    pattern[0, 0] = (255, 255, 255)  # the top-left corner marks which way is up
    reference = Image.fromarray(pattern)
    reference.save(OUT / "reference.png")
    for n, store in STORE.items():
        stored = store(reference)
        # ImageOps.exif_transpose is Pillow's reading of the tag: it must give the pattern back.
        stored.save(OUT / f"orient_{n}.png", exif=exif(n))
        stored.save(OUT / f"orient_{n}.jpg", exif=exif(n), quality=100, subsampling=0)
        # Pillow's own reading of the tag (ImageOps.exif_transpose) must show the pattern.
        assert np.array_equal(np.asarray(ImageOps.exif_transpose(Image.open(OUT / f"orient_{n}.png"))), pattern), n
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    reference.save(OUT / "all.png", icc_profile=icc, exif=exif(1), pnginfo=info)
    reference.save(OUT / "all.jpg", icc_profile=icc, exif=exif(1), xmp=XMP, quality=95)
    big = bytes(np.random.default_rng(7).integers(0, 256, 100_000, dtype=np.uint8))
    reference.save(OUT / "big_icc.jpg", icc_profile=big, quality=95)
    (OUT / "icc.bin").write_bytes(icc)
    (OUT / "exif1.bin").write_bytes(exif(1)[len(b"Exif\0\0"):])  # the TIFF structure, as PNG's eXIf holds it
    (OUT / "xmp.bin").write_bytes(XMP)
    (OUT / "big_icc.bin").write_bytes(big)


if __name__ == "__main__":
    main()

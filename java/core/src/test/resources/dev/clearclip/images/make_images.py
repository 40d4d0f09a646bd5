"""Makes the test pictures of ImagesTest with Pillow (an independent decoder/encoder).

Run with any Python that has Pillow with WebP support; the outputs are committed so the Java
tests need no Python:  python make_images.py
"""
from PIL import Image, ImageOps

# A 48x32 picture of four flat quadrants (24x16 each: whole 8x8 JPEG blocks): every orientation
# gives a different layout, and JPEG keeps flat colours nearly exact.
QUAD = [(220, 30, 30), (30, 200, 40), (40, 60, 230), (240, 230, 50)]


def quadrants():
    im = Image.new("RGB", (48, 32))
    px = im.load()
    for y in range(32):
        for x in range(48):
            px[x, y] = QUAD[(1 if x >= 24 else 0) + (2 if y >= 16 else 0)]
    return im


def exif_with(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


base = quadrants()
for o in range(1, 9):
    base.save(f"orient_{o}.jpg", quality=95, subsampling=0, exif=exif_with(o))
    base.save(f"orient_{o}.png", exif=exif_with(o))
    # what a viewer shows: Pillow's own EXIF transpose of the stored pixels
    ImageOps.exif_transpose(Image.open(f"orient_{o}.png")).convert("RGB").save(f"expected_{o}.png")

base.save("webp_orient_6.webp", lossless=True, exif=exif_with(6))

# Small picture with every pixel different, for lossless round trips (WebP, BMP, PNG).
grad = Image.new("RGB", (37, 23))
gp = grad.load()
for y in range(23):
    for x in range(37):
        gp[x, y] = ((x * 7) % 256, (y * 11) % 256, (x * y) % 256)
grad.save("gradient.png")
grad.save("gradient.webp", lossless=True)
grad.save("gradient.bmp")

gray = Image.new("L", (16, 8))
gray.putdata([(i * 2) % 256 for i in range(16 * 8)])
gray.save("gray.png")

# CMYK JPEG (Adobe APP14), which the JDK's own reader rejects: white, cyan, magenta, yellow, black.
cmyk = Image.new("CMYK", (80, 16))
cp = cmyk.load()
colours = [(0, 0, 0, 0), (255, 0, 0, 0), (0, 255, 0, 0), (0, 0, 255, 0), (0, 0, 0, 255)]
for y in range(16):
    for x in range(80):
        cp[x, y] = colours[x // 16]
cmyk.save("cmyk.jpg", quality=95)

# CLIP preprocessing reference: torchvision's Resize(short side, BICUBIC) + CenterCrop on a PIL
# picture, as open_clip does it (needs torchvision; skipped without it).
try:
    from torchvision import transforms
    src = Image.new("RGB", (97, 61))
    sp = src.load()
    for y in range(61):
        for x in range(97):
            sp[x, y] = ((x * 37 + y * 11) % 256, (x * x + 3 * y) % 256, (255 - 4 * y + x) % 256)
    src.save("preprocess_src.png")
    for size in (224, 40):
        t = transforms.Compose([transforms.Resize(size, interpolation=transforms.InterpolationMode.BICUBIC),
                                transforms.CenterCrop(size)])
        t(src).save(f"preprocess_{size}.png")
except ImportError:
    pass

with open("not_an_image.jpg", "w") as f:
    f.write("this is text, not a JPEG\n")

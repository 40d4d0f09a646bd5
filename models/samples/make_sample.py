"""Draws models/samples/scene.png, the picture `make demo` segments: a synthetic street scene
(sky, sun, hills, trees, a house, grass, a road, a car) so the repository ships no photograph.

    python make_sample.py      (needs Pillow)
"""
import random

from PIL import Image, ImageDraw, ImageFilter

W, H = 640, 427
random.seed(7)
im = Image.new("RGB", (W, H))
d = ImageDraw.Draw(im)

# sky: vertical gradient
for y in range(230):
    t = y / 230
    d.line([(0, y), (W, y)], fill=(int(90 + 80 * t), int(150 + 60 * t), int(230 + 20 * t)))
# clouds
for cx, cy in [(120, 60), (420, 40), (540, 95)]:
    for dx, dy, r in [(-30, 5, 22), (0, -8, 28), (30, 4, 22), (55, 10, 16)]:
        d.ellipse([cx + dx - r, cy + dy - r, cx + dx + r, cy + dy + r], fill=(245, 246, 250))
# sun
d.ellipse([560, 20, 610, 70], fill=(255, 224, 90))
# hills
d.polygon([(0, 230), (90, 150), (200, 215), (330, 140), (470, 220), (560, 170), (640, 210), (640, 260), (0, 260)],
          fill=(92, 128, 86))
# grass
d.rectangle([0, 250, W, H], fill=(96, 168, 72))
for _ in range(2500):
    x, y = random.randrange(W), random.randrange(255, H)
    g = random.randrange(120, 200)
    d.line([(x, y), (x + random.choice((-1, 0, 1)), y - 3)], fill=(60, g, 50))
# road in perspective
d.polygon([(270, 250), (370, 250), (560, H), (80, H)], fill=(88, 88, 92))
for i in range(6):
    y0 = 262 + i * 28
    y1 = y0 + 14
    w0 = 2 + i
    d.polygon([(320 - w0, y0), (320 + w0, y0), (320 + w0 + 1, y1), (320 - w0 - 1, y1)], fill=(240, 240, 235))
# house
d.rectangle([70, 170, 210, 270], fill=(196, 120, 84))
d.polygon([(55, 175), (140, 110), (225, 175)], fill=(120, 52, 40))
d.rectangle([125, 215, 155, 270], fill=(92, 60, 40))
for x0 in (85, 170):
    d.rectangle([x0, 190, x0 + 25, 212], fill=(170, 210, 235))
    d.line([(x0 + 12, 190), (x0 + 12, 212)], fill=(255, 255, 255), width=2)
# trees
for tx, ty, s in [(470, 235, 1.0), (520, 250, 1.2), (600, 240, 0.9), (25, 250, 0.8)]:
    d.rectangle([tx - 6 * s, ty, tx + 6 * s, ty + 40 * s], fill=(100, 70, 40))
    for dx, dy, r in [(0, -25, 30), (-20, -5, 24), (20, -5, 24), (0, 5, 22)]:
        r = r * s
        cx, cy = tx + dx * s, ty + dy * s
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(46 + random.randrange(20), 110 + random.randrange(30), 50))
# car on the road
d.rounded_rectangle([250, 330, 390, 380], radius=12, fill=(200, 30, 40))
d.polygon([(275, 332), (295, 300), (350, 300), (370, 332)], fill=(190, 28, 38))
d.polygon([(285, 330), (300, 306), (320, 306), (320, 330)], fill=(180, 215, 240))
d.polygon([(326, 330), (326, 306), (346, 306), (360, 330)], fill=(180, 215, 240))
for wx in (280, 360):
    d.ellipse([wx - 16, 366, wx + 16, 398], fill=(25, 25, 28))
    d.ellipse([wx - 7, 375, wx + 7, 389], fill=(150, 150, 155))

im = im.filter(ImageFilter.GaussianBlur(0.6))
im.save("scene.png", optimize=True)

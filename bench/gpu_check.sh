#!/usr/bin/env bash
# One command that verifies a GPU backend on a machine that has the GPU, and prints one table:
# the device parity test (every graph on the device against the CPU, f32/f16/q8_0/q4_0) and the
# window benchmark (`clearclip bench`, 224/448 windows, global 224, segmentation) on the CPU and
# on the device.
#
#   bench/gpu_check.sh [cuda|vulkan]     (default cuda)
#
# cuda:   needs `make natives-cuda` (build/natives-cuda/clearclip-natives-cuda.jar, the engine's
#         CUDA build in native/target/cmake-cuda) and the CLI jar (`make build`); the machine needs
#         the NVIDIA driver, and the CUDA 13 runtime and cuBLAS (the driver install, or the venv
#         that `make natives-cuda` made, whose libraries are put on LD_LIBRARY_PATH here).
# vulkan: the default build (`make build`); set GGML_VK_VISIBLE_DEVICES=0 to measure Mesa's
#         software device (lavapipe).
# Environment: MODEL (a GGUF to benchmark; default: the ViT-B/16-sized fixture converted to q8_0),
# THREADS (default 2), REPEAT (default 3), JAVA_HOME.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
backend=${1:-cuda}
threads=${THREADS:-2}
repeat=${REPEAT:-3}
java=${JAVA_HOME:+$JAVA_HOME/bin/}java
out=build/gpu-check/$backend
mkdir -p "$out"
die() { echo "gpu_check: $*" >&2; exit 1; }

cli_jar=java/cli/target/clearclip.jar
[ -f "$cli_jar" ] || die "$cli_jar is missing: make build"
case $backend in
    cuda)
        natives=build/natives-cuda/clearclip-natives-cuda.jar
        build_dir=native/target/cmake-cuda
        [ -f "$natives" ] || die "$natives is missing: make natives-cuda"
        classpath=$natives:$cli_jar
        cu=$(.venv-cuda/bin/python -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13"))' 2>/dev/null || true)
        [ -z "$cu" ] || export LD_LIBRARY_PATH=$cu/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
        ;;
    vulkan)
        build_dir=native/target/cmake
        classpath=$cli_jar
        ;;
    *) die "usage: bench/gpu_check.sh [cuda|vulkan]" ;;
esac
cli() { "$java" --enable-native-access=ALL-UNNAMED -cp "$classpath" dev.clearclip.cli.Main "$@"; }

# 1. parity: the ctest executable of that build, on this device
parity=$out/parity.log
[ -x "$build_dir/tests/test_device_parity" ] || die "$build_dir/tests/test_device_parity is missing (build with CLEARCLIP_TEST_DEVICES=$backend)"
status=passed
CLEARCLIP_TEST_DEVICE=$backend CLEARCLIP_TEST_TMP=$out "$build_dir/tests/test_device_parity" > "$parity" 2>&1 || status=FAILED

# 2. the window benchmark on the CPU and on the device, same model, same threads
model=${MODEL:-}
if [ -z "$model" ]; then
    model=build/gpu-check/vitb16-q8_0.gguf
    [ -f "$model" ] || cli convert build/fixtures/hf-vitb16 -o "$model" --type q8_0 > /dev/null \
        || die "cannot convert build/fixtures/hf-vitb16 (make fixtures), or give MODEL=file.gguf"
fi
for b in cpu "$backend"; do
    cli --backend "$b" bench -m "$model" --thread-counts "$threads" --repeat "$repeat" --in-process \
        --no-cli-segment --json "$out/bench-$b.json" > "$out/bench-$b.log" 2>&1 \
        || die "bench on $b failed: $out/bench-$b.log"
done

# 3. one table
python3 - "$backend" "$status" "$parity" "$out/bench-cpu.json" "$out/bench-$backend.json" <<'PY'
import json, re, sys
backend, status, parity, cpu_json, dev_json = sys.argv[1:]
lines = open(parity, encoding="utf-8", errors="replace").read().splitlines()
device = next((l.split("device: ", 1)[1] for l in lines if l.startswith("device: ")), "?")
print(f"# gpu_check: {backend} ({device.strip()})\n")
print(f"parity test: {status}")
worst = {}
for l in lines:
    m = re.match(r"\s+(\S+)\s+(.*?)\s+min cosine ([0-9.]+)", l)
    if m:
        worst[m.group(1)] = min(worst.get(m.group(1), 1.0), float(m.group(3)))
for t, v in worst.items():
    print(f"  {t:5s} lowest cosine device vs CPU over all graphs: {v:.7f}")
def rows(path):
    runs = json.load(open(path))["runs"]
    out = {}
    for run in runs:
        for k, v in run.items():
            if isinstance(v, dict) and "median" in v:
                out[k] = v["median"] * 1000.0
    return out
cpu, dev = rows(cpu_json), rows(dev_json)
print(f"\n| row | CPU median ms | {backend} median ms | speed-up |\n|---|---|---|---|")
for k in cpu:
    if k in dev and dev[k]:
        print(f"| {k} | {cpu[k]:.1f} | {dev[k]:.1f} | {cpu[k] / dev[k]:.2f}x |")
PY
[ "$status" = passed ]

#!/usr/bin/env bash
# Builds ggml with its CUDA backend and the engine against it, then packages them like the host
# build into a jar of their own: build/natives-cuda/clearclip-natives-cuda.jar, whose resources
# dev/clearclip/native/linux-x86_64/ replace the CLI jar's when that jar comes first on the class
# path (README, "GPU"). `make natives-cuda`; not part of `make test` (nothing here can run it).
#
# The CUDA toolkit comes from NVIDIA's CUDA 13 wheels on PyPI, installed into a venv of its own
# (.venv-cuda): nvidia-cuda-nvcc has nvcc (nvidia/cu13/bin/nvcc; the cu12 wheel has none), with the
# runtime, cuBLAS, CCCL, the CRT headers and NVVM beside it. ggml is the same pinned version as the
# host build, built by pip from its sdist with GGML_CUDA=ON, GGML_CUDA_NO_VMM=ON (no direct libcuda
# link: the driver comes from the machine that runs it) and CUDA_ARCHS; CUDA 13 cannot target
# anything older than sm_75 (Turing). The wheel is cached under $CLEARCLIP_CACHE_DIR/wheels keyed
# by version and architectures, like the host wheel.
#
# Environment: GGML_VERSION, CUDA_ARCHS, JOBS, CLEARCLIP_CACHE_DIR, PYTHON (creates the venv).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
GGML_VERSION=${GGML_VERSION:-0.20.2.post1}
# Turing and Ampere as PTX (JIT-compiled by the driver once), the common consumer and data-centre
# GPUs as machine code: RTX 30xx (86), RTX 40xx / L4 (89), H100 (90), RTX 50xx (120).
CUDA_ARCHS=${CUDA_ARCHS:-75-virtual;80-virtual;86-real;89-real;90-real;120-real}
JOBS=${JOBS:-2}
PYTHON=${PYTHON:-python3}
cache_root=${CLEARCLIP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/clearclip}
venv=$repo/.venv-cuda
out=$repo/build/natives-cuda
build_dir=$here/target/cmake-cuda
stage_dir=$here/target/stage-cuda

say() { echo "build-cuda: $*" >&2; }
die() { say "$*"; exit 1; }
start=$SECONDS

[ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
if [ ! -f "$venv/.stamp-cuda13" ]; then
    say "installing the CUDA 13 toolkit wheels into $venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check \
        'nvidia-cuda-nvcc==13.*' 'nvidia-cuda-runtime==13.*' 'nvidia-cublas==13.*' \
        'nvidia-cuda-cccl==13.*' 'nvidia-cuda-crt==13.*' 'nvidia-nvvm==13.*'
    touch "$venv/.stamp-cuda13"
fi
cuda=$("$venv/bin/python" -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13"))')
[ -x "$cuda/bin/nvcc" ] || die "no nvcc in $cuda/bin (nvidia-cuda-nvcc 13 wheel)"
# CMake's FindCUDAToolkit links the unversioned names; the wheels ship only the versioned ones.
for lib in "$cuda"/lib/lib*.so.*; do
    base=${lib%%.so.*}.so
    [ -e "$base" ] || ln -s "$(basename "$lib")" "$base"
done

key=$(printf '%s' "$CUDA_ARCHS" | tr ';' '_')
pyver=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
wheels=$cache_root/wheels/libggml-python-$GGML_VERSION-cuda13-$key-py$pyver
if ! ls "$wheels"/*.whl >/dev/null 2>&1; then
    say "building libggml-python==$GGML_VERSION with CUDA for $CUDA_ARCHS (long: one pass per architecture)"
    mkdir -p "$(dirname "$wheels")"; tmp=$(mktemp -d "$wheels.tmp.XXXXXX")
    PATH=$cuda/bin:$PATH CMAKE_BUILD_PARALLEL_LEVEL=$JOBS "$venv/bin/python" -m pip wheel \
        --disable-pip-version-check --no-cache-dir --no-deps -w "$tmp" \
        --no-binary libggml-python "libggml-python==$GGML_VERSION" \
        -C cmake.define.GGML_LLAMAFILE=ON -C cmake.define.GGML_NATIVE=OFF \
        -C cmake.define.GGML_BACKEND_DL=ON -C cmake.define.GGML_CPU_ALL_VARIANTS=ON \
        -C cmake.define.GGML_CUDA=ON -C cmake.define.GGML_CUDA_NO_VMM=ON \
        -C "cmake.define.CMAKE_CUDA_ARCHITECTURES=$CUDA_ARCHS" \
        -C "cmake.define.CMAKE_CUDA_COMPILER=$cuda/bin/nvcc" \
        -C "cmake.define.CUDAToolkit_ROOT=$cuda" > "$venv/pip-ggml-cuda.log" 2>&1 \
        || { rm -rf "$tmp"; tail -n 40 "$venv/pip-ggml-cuda.log" >&2; die "building ggml with CUDA failed (log: $venv/pip-ggml-cuda.log)"; }
    rm -rf "$wheels"; mv "$tmp" "$wheels"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-cache-dir --force-reinstall --no-deps "$wheels"/*.whl
prefix=$("$venv/bin/python" -c 'import libggml, os; print(os.path.dirname(libggml.__file__))')
ls "$prefix"/lib*/libggml-cuda.so >/dev/null 2>&1 || die "the ggml wheel has no libggml-cuda.so"
say "ggml with CUDA: $(( (SECONDS - start) / 60 )) min so far"

# The engine against it; its ctest suite builds too (bench/gpu_check.sh runs it on a GPU).
mkdir -p "$(dirname "$build_dir")"   # a fresh clone has no native/target yet
cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" -Uggml_DIR \
      -DCLEARCLIP_FIXTURES="$repo/build/fixtures" -DCLEARCLIP_TEST_DEVICES=cuda > "$build_dir.configure.log" 2>&1 \
    || { cat "$build_dir.configure.log" >&2; exit 1; }
cmake --build "$build_dir" --parallel "$JOBS"
rm -rf "$stage_dir"
cmake --install "$build_dir" --prefix "$stage_dir" > /dev/null
rm -rf "$out"
natives=$out/classes/dev/clearclip/native/linux-x86_64
bash "$here/package-natives.sh" "$natives" "$stage_dir/lib" "$stage_dir/lib64"
# cuBLAS and the CUDA runtime are the machine's (a driver install or these wheels), not the jar's
(cd "$out/classes" && "${JAVA_HOME:+$JAVA_HOME/bin/}jar" --create --file "$out/clearclip-natives-cuda.jar" .)
say "$out/clearclip-natives-cuda.jar: $(du -h "$out/clearclip-natives-cuda.jar" | cut -f1)" \
    "($(du -sh "$natives" | cut -f1) unpacked) in $(( (SECONDS - start) / 60 )) min"

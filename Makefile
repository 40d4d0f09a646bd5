# clearclip top-level build.
#
#   make demo      build, then segment the bundled sample picture (pulls the default model first
#                  when none is cached and MODEL is not given)
#   make build     native engine + Java modules, tests skipped
#   make test      everything the CI runs: venv, fixtures, ctest and all Surefire tests, and the
#                  linux-aarch64 natives tested under qemu-user (ctest + .ci/arm64_smoke.py)
#   make deps      install the system packages of the build and the tests (.ci/deps.sh; apt-get,
#                  as root or through sudo); `make test` does it itself when it can without asking
#   make natives-arm64  only cross-build the linux-aarch64 natives (native/build-aarch64.sh)
#   make natives-cuda   ggml's CUDA backend and the engine against it, in a jar of their own
#                  (native/build-cuda.sh; not part of `make test`)
#   make bench     side-by-side benchmark against PyTorch (bench/README.md); results in build/bench
#   make sanitize  the C engine, its ctest suite and the fuzz seeds under ASan + UBSan (clang, else gcc)
#   make fuzz      libFuzzer on each harness for FUZZ_SECONDS (default 60) from its seed corpus
#   make fuzz-ci   the same, FUZZ_CI_SECONDS (default 20) per harness: what `make test` runs
#   make fixtures  reference models and goldens under build/fixtures (PyTorch, slow the first time)
#   make venv      only the Python environment (.venv) with the pinned ggml
#   make install   build, then install the `clearclip` launcher and the jar under PREFIX (default
#                  ~/.local): PREFIX/bin/clearclip, PREFIX/share/clearclip/clearclip.jar; DESTDIR too
#   make clean     removes the Maven/CMake outputs (keeps .venv and build/fixtures, slow to remake)
#   make distclean also removes build/ (fixtures) and .venv
#
# Variables: PYTHON (interpreter used to create .venv), GGML_NATIVE (ON: ggml tuned to this CPU
# instead of run-time CPU variants; local use only), JAVA_HOME (used when it is a JDK >= 22), MVN, MVN_ARGS (extra Maven arguments),
# ARM64 (ON/OFF/auto: linux-aarch64 natives in the jar, see below), ARM64_MARCH,
# GGML_VULKAN (ON/OFF/auto: ggml's Vulkan backend, see below), CUDA_ARCHS (make natives-cuda).
# SAN_CC (compiler of the sanitizer/fuzz build), FUZZ_SECONDS, FUZZ_CI_SECONDS, FUZZ_ARGS.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build
.DELETE_ON_ERROR:

PYTHON     ?= python3
MVN        ?= mvn
MVN_ARGS   ?=
VENV       ?= $(CURDIR)/.venv
VENV_PY    := $(VENV)/bin/python
FIXTURES   := $(CURDIR)/build/fixtures
JOBS       := $(shell nproc 2>/dev/null || echo 2)

# ggml is a dependency built from its sdist by pip, never vendored.
# GGML_LLAMAFILE=ON: llamafile's sgemm kernels make ggml's matrix products 2-3x faster on CPU,
#   the largest single performance lever of this project (measured with `make bench`).
# GGML_BACKEND_DL=ON + GGML_CPU_ALL_VARIANTS=ON (default): ggml's CPU backend is built once per
#   x86-64 generation (x64, sse42, sandybridge, haswell, skylakex, icelake, zen4, sapphirerapids,
#   ...) as libggml-cpu-<variant>.so modules; at run time the engine has ggml score them against
#   the CPU and load the best, so one jar gets AVX-512/VNNI/AMX kernels where the CPU has them and
#   still runs on any x86-64. Costs 8-15 minutes on 2 cores and ~17 MB of libraries.
# GGML_NATIVE=ON: one CPU backend tuned to the build machine (-march=native), linked in; ggml
#   cannot combine it with GGML_BACKEND_DL. For local use only: such a jar may crash elsewhere.
GGML_PACKAGE := libggml-python
GGML_VERSION := 0.20.2.post1
GGML_NATIVE  ?= OFF
ifeq ($(filter ON on 1 yes true,$(GGML_NATIVE)),)
GGML_FLAVOUR := cpu-variants
GGML_CPU_DEFINES := -C cmake.define.GGML_NATIVE=OFF -C cmake.define.GGML_BACKEND_DL=ON \
                    -C cmake.define.GGML_CPU_ALL_VARIANTS=ON
else
GGML_FLAVOUR := native
GGML_CPU_DEFINES := -C cmake.define.GGML_NATIVE=ON -C cmake.define.GGML_BACKEND_DL=OFF \
                    -C cmake.define.GGML_CPU_ALL_VARIANTS=OFF
endif
on_values    := ON on 1 yes true
# GGML_VULKAN=ON: ggml's Vulkan backend as one more module of the same build (libggml-vulkan.so,
#   ~36 MB, ~4 more build minutes on 2 cores; built with glslc and Vulkan headers >= 1.3.272,
#   which .ci/vulkan_headers.sh fetches from Debian 13 where the system's are older; runs where
#   libvulkan.so.1 and a Vulkan driver are, else ggml leaves it out). auto (default): ON when
#   glslc is installed (`make deps`), and always under CI=true.
GGML_VULKAN  ?= auto
HAVE_GLSLC   := $(shell command -v glslc >/dev/null && echo yes)
VULKAN_BUILD := $(if $(filter $(on_values),$(GGML_VULKAN)),ON,$(if $(filter auto,$(GGML_VULKAN)),$(if $(or $(HAVE_GLSLC),$(filter true,$(CI))),ON,OFF),OFF))
GGML_OPTIONS := $(GGML_FLAVOUR)-llamafile$(if $(filter ON,$(VULKAN_BUILD)),-vulkan)
GGML_VULKAN_DEFINES := $(if $(filter ON,$(VULKAN_BUILD)),-C cmake.define.GGML_VULKAN=ON,-C cmake.define.GGML_VULKAN=OFF)
# Keyed by version and build options: a checkout with other options (e.g. an older .venv with
# the single-AVX2 build, or without Vulkan) builds ggml anew instead of using what is there.
GGML_STAMP   := $(VENV)/.stamp-ggml-$(GGML_VERSION)-$(GGML_OPTIONS)
# native/build-aarch64.sh builds the same ggml version for linux-aarch64
export GGML_VERSION
REF_REQUIREMENTS := gguf-tools/reference/requirements.txt
REF_STAMP    := $(VENV)/.stamp-reference

# --- JDK ---------------------------------------------------------------------------------
# JAVA_HOME if it is a JDK >= 22, else the newest JDK >= 22 under JDK_SEARCH_DIR. The default
# `java` on the machine may be older, so it is never used.
JDK_SEARCH_DIR ?= /usr/lib/jvm
define find_jdk
major() { sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$$1/release" 2>/dev/null; }; \
if [ -n "$${JAVA_HOME:-}" ] && [ -x "$$JAVA_HOME/bin/javac" ] && [ "$$(major "$$JAVA_HOME")" -ge 22 ] 2>/dev/null; then \
  echo "$$JAVA_HOME"; exit 0; fi; \
best=; best_major=0; \
for d in $(JDK_SEARCH_DIR)/*; do \
  [ -x "$$d/bin/javac" ] || continue; m=$$(major "$$d"); \
  if [ -n "$$m" ] && [ "$$m" -gt "$$best_major" ]; then best=$$d; best_major=$$m; fi; \
done; \
if [ "$$best_major" -ge 22 ]; then echo "$$best"; fi
endef
JDK := $(shell $(find_jdk))
ifneq ($(JDK),)
export JAVA_HOME := $(JDK)
# Maven 3.8's bundled Guava uses sun.misc.Unsafe, which JDK 24+ warns about on every run.
JDK_MAJOR := $(shell sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$(JDK)/release")
ifeq ($(shell [ "$(JDK_MAJOR)" -ge 24 ] && echo yes),yes)
export MAVEN_OPTS := $(strip $(MAVEN_OPTS) --sun-misc-unsafe-memory-access=allow)
endif
endif

# Resolved when a recipe runs (after .venv exists): where pip put ggml's headers, libs and CMake config.
GGML_PREFIX_CMD = $(VENV_PY) -c 'import libggml, os; print(os.path.dirname(libggml.__file__))'
GGML_PREFIX = $(shell $(GGML_PREFIX_CMD))

# --- linux-aarch64 natives ------------------------------------------------------------------
# ARM64=ON also cross-builds the engine and ggml for linux-aarch64 into the same jar
# (native/build-aarch64.sh; ggml cached under ~/.cache/clearclip) and, in `make test`, runs the
# ctest suite and .ci/arm64_smoke.py under qemu-user. ARM64=OFF builds for the host only.
# auto (default): `make test` means ON (CI tests both platforms); other targets build them when
# the cross toolchain and qemu-user are installed (see docs/arm64.md).
# ARM64_MARCH: ggml's CPU baseline for arm64 (armv8-a for boards without dot product, e.g. a Pi 4).
ARM64       ?= auto
ARM64_MARCH ?= armv8.2-a+dotprod
export ARM64_MARCH
HAVE_CROSS  := $(shell command -v aarch64-linux-gnu-gcc >/dev/null && command -v qemu-aarch64 >/dev/null && echo yes)
ARM64_BUILD := $(if $(filter $(on_values),$(ARM64)),true,$(if $(filter auto,$(ARM64)),$(if $(HAVE_CROSS),true,false),false))
# `make test` with auto tests arm64 when the tools are there (make test installs them first when
# it can, .ci/deps.sh); without them it warns and skips, except under CI=true, where it stays on
# and fails.
ARM64_TEST  := $(if $(filter auto,$(ARM64)),$(if $(HAVE_CROSS),true,$(if $(filter true,$(CI)),true,false)),$(ARM64_BUILD))

# The Vulkan parity tests (ctest and JUnit) need a Vulkan device: in CI Mesa's lavapipe, which
# `make test` installs (.ci/deps.sh, part lavapipe). Without one a local run warns and skips them;
# under CI=true they run and fail.
HAVE_LAVAPIPE := $(shell bash .ci/deps.sh has lavapipe 2>/dev/null && echo yes)
VULKAN_TEST   := $(if $(filter ON,$(VULKAN_BUILD)),$(if $(or $(HAVE_LAVAPIPE),$(filter true,$(CI))),true,false),false)
TEST_DEVICES  := $(if $(filter true,$(VULKAN_TEST)),vulkan,)

MAVEN = $(MVN) -B -ntp -Dggml.prefix=$(GGML_PREFIX) -Dclearclip.fixtures=$(FIXTURES) -Dcmake.jobs=$(JOBS) \
        -Dclearclip.test.devices=$(TEST_DEVICES) -Dclearclip.vulkan=$(VULKAN_TEST) $(MVN_ARGS)

.PHONY: natives-cuda deps test-run install install-files launcher-test demo bench build test fixtures venv venv-ggml jdk clean distclean natives-arm64 sanitize sanitize-build fuzz fuzz-ci

jdk:
	@if [ -z "$(JDK)" ]; then \
	  echo "ERROR: no JDK >= 22 found. clearclip needs Java 22+ (the Foreign Function & Memory API)." >&2; \
	  echo "       Set JAVA_HOME to a JDK 22 or newer, or install one under $(JDK_SEARCH_DIR)" >&2; \
	  echo "       (e.g. Eclipse Temurin 25; Debian 12 itself only packages OpenJDK 17)." >&2; \
	  exit 1; fi
	@echo "Using JDK $(JDK) ($$("$(JDK)/bin/java" -version 2>&1 | head -n 1))"

# --- Python environment --------------------------------------------------------------------
$(VENV_PY):
	$(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install -q --disable-pip-version-check --upgrade pip

# The stamp name carries the version and the CPU options, so changing either rebuilds ggml.
# --no-cache-dir: pip's wheel cache does not key on -C options, so a cached wheel could carry
# other build flags than the ones asked for here. Our own cache does: the wheel pip builds is kept
# under $CLEARCLIP_CACHE_DIR/wheels (default ~/.cache/clearclip) in a folder named by package
# version, CPU options and Python version, so a new clone on the same machine installs it in
# seconds instead of compiling for 8-15 minutes; a cold machine (or an empty CLEARCLIP_CACHE_DIR)
# builds it as before.
CLEARCLIP_CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/clearclip
GGML_WHEEL_DIR := $(CLEARCLIP_CACHE_DIR)/wheels/$(GGML_PACKAGE)-$(GGML_VERSION)-$(GGML_OPTIONS)
# Mesa compiles ggml's Vulkan shaders for its software device (lavapipe) on first use: minutes for
# the test suite. Its cache is kept beside the wheel, keyed the same way, so warm runs take
# seconds (CI keeps $(CLEARCLIP_CACHE_DIR) between runs). Mesa keys the entries by driver build.
export MESA_SHADER_CACHE_DIR ?= $(CLEARCLIP_CACHE_DIR)/mesa-shader-cache/$(GGML_PACKAGE)-$(GGML_VERSION)-$(GGML_OPTIONS)
$(GGML_STAMP): | $(VENV_PY)
	@rm -f $(VENV)/.stamp-ggml-*
	@wheels="$(GGML_WHEEL_DIR)-py$$($(VENV_PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])')"; \
	 if ! ls "$$wheels"/*.whl >/dev/null 2>&1; then \
	   echo "Building $(GGML_PACKAGE)==$(GGML_VERSION) from source (GGML_LLAMAFILE=ON, $(GGML_FLAVOUR), GGML_VULKAN=$(VULKAN_BUILD)); 8-20 minutes on 2 cores..."; \
	   vk_defines=; if [ $(VULKAN_BUILD) = ON ]; then \
	     command -v glslc >/dev/null || { echo "ERROR: GGML_VULKAN=ON needs glslc (make deps, or GGML_VULKAN=OFF)" >&2; exit 1; }; \
	     vk_include=$$(bash .ci/vulkan_headers.sh "$(CLEARCLIP_CACHE_DIR)") || exit 1; \
	     vk_defines="-C cmake.define.Vulkan_INCLUDE_DIR=$$vk_include"; fi; \
	   mkdir -p "$$(dirname "$$wheels")"; tmp=$$(mktemp -d "$$wheels.tmp.XXXXXX"); \
	   $(VENV_PY) -m pip wheel --disable-pip-version-check --no-cache-dir --no-deps -w "$$tmp" \
	       --no-binary $(GGML_PACKAGE) $(GGML_PACKAGE)==$(GGML_VERSION) \
	       -C cmake.define.GGML_LLAMAFILE=ON $(GGML_CPU_DEFINES) $(GGML_VULKAN_DEFINES) $$vk_defines \
	       > $(VENV)/pip-ggml.log 2>&1 \
	     || { rm -rf "$$tmp"; cat $(VENV)/pip-ggml.log >&2; echo "ERROR: building $(GGML_PACKAGE) failed (log: $(VENV)/pip-ggml.log)" >&2; exit 1; }; \
	   rm -rf "$$wheels"; mv "$$tmp" "$$wheels"; \
	 else echo "Installing $(GGML_PACKAGE)==$(GGML_VERSION) ($(GGML_FLAVOUR)) from the wheel cached in $$wheels"; fi; \
	 $(VENV_PY) -m pip install --disable-pip-version-check --no-cache-dir --force-reinstall --no-deps "$$wheels"/*.whl \
	     >> $(VENV)/pip-ggml.log 2>&1 \
	   || { cat $(VENV)/pip-ggml.log >&2; echo "ERROR: installing $(GGML_PACKAGE) from $$wheels failed (delete that folder to rebuild)" >&2; exit 1; }
	@prefix="$$($(GGML_PREFIX_CMD))"; \
	 if [ ! -f "$$prefix/lib/cmake/ggml/ggml-config.cmake" ] && [ ! -f "$$prefix/lib64/cmake/ggml/ggml-config.cmake" ]; then \
	   echo "ERROR: $(GGML_PACKAGE) installed but no CMake config under $$prefix/lib{,64}/cmake/ggml" >&2; exit 1; fi; \
	 if [ "$(GGML_FLAVOUR)" = cpu-variants ] && ! ls "$$prefix"/lib*/libggml-cpu-*.so >/dev/null 2>&1; then \
	   echo "ERROR: $(GGML_PACKAGE) installed without its CPU variants (no $$prefix/lib/libggml-cpu-*.so)" >&2; exit 1; fi; \
	 if [ $(VULKAN_BUILD) = ON ] && ! ls "$$prefix"/lib*/libggml-vulkan.so* >/dev/null 2>&1; then \
	   echo "ERROR: $(GGML_PACKAGE) installed without its Vulkan backend (no $$prefix/lib/libggml-vulkan.so)" >&2; exit 1; fi; \
	 echo "ggml installed at $$prefix"
	@touch $@

$(REF_STAMP): $(REF_REQUIREMENTS) | $(VENV_PY)
	@echo "Installing the Python reference stack ($(REF_REQUIREMENTS)); the first time downloads PyTorch..."
	@$(VENV_PY) -m pip install --disable-pip-version-check -r $(REF_REQUIREMENTS) > $(VENV)/pip-reference.log 2>&1 \
	  || { cat $(VENV)/pip-reference.log >&2; echo "ERROR: installing $(REF_REQUIREMENTS) failed (log: $(VENV)/pip-reference.log)" >&2; exit 1; }
	@touch $@

venv-ggml: $(GGML_STAMP)
venv: $(GGML_STAMP) $(REF_STAMP)

# --- fixtures ------------------------------------------------------------------------------
# Regenerated when the generator or its requirements change; the generator is deterministic.
FIXTURE_STAMP := $(FIXTURES)/manifest.json
$(FIXTURE_STAMP): $(REF_STAMP) $(wildcard gguf-tools/reference/*.py)
	$(VENV_PY) gguf-tools/reference/make_fixtures.py --out $(FIXTURES) --vitb16
	@touch $@

fixtures: $(FIXTURE_STAMP)

# --- Java + native build -------------------------------------------------------------------
build: jdk $(GGML_STAMP)
	$(MAVEN) -Dclearclip.arm64=$(ARM64_BUILD) -DskipTests install

# The linux-aarch64 natives alone, into the module's classes (where the jar takes them from).
natives-arm64:
	JOBS=$(JOBS) PYTHON=$(if $(wildcard $(VENV_PY)),$(VENV_PY),$(PYTHON)) CLEARCLIP_FIXTURES=$(FIXTURES) \
	  bash native/build-aarch64.sh native/target/classes/dev/clearclip/native/linux-aarch64

# ggml's CUDA backend and the engine against it, into build/natives-cuda/clearclip-natives-cuda.jar
# (native/build-cuda.sh: the CUDA 13 toolkit from NVIDIA's PyPI wheels; CUDA_ARCHS). Not part of
# `make test`: no NVIDIA GPU here; bench/gpu_check.sh runs it on a machine with one.
CUDA_ARCHS ?= 75-virtual;80-virtual;86-real;89-real;90-real;120-real
natives-cuda: jdk
	JOBS=$(JOBS) PYTHON=$(PYTHON) CUDA_ARCHS='$(CUDA_ARCHS)' bash native/build-cuda.sh

# --- install -----------------------------------------------------------------------------
# bin/clearclip finds a JDK >= 22 itself (JAVA_HOME, /usr/lib/jvm, PATH) and the jar next to it
# (../share/clearclip/clearclip.jar), so PREFIX/bin on PATH is all a user needs.
PREFIX ?= $(HOME)/.local
DESTDIR ?=
CLI_JAR := java/cli/target/clearclip.jar

install: build
	@$(MAKE) --no-print-directory install-files

# Without building: what `make test` uses after its own Maven run.
install-files:
	@test -f $(CLI_JAR) || { echo "ERROR: $(CLI_JAR) is missing: run 'make build' first" >&2; exit 1; }
	install -d "$(DESTDIR)$(PREFIX)/bin" "$(DESTDIR)$(PREFIX)/share/clearclip"
	install -m 644 $(CLI_JAR) "$(DESTDIR)$(PREFIX)/share/clearclip/clearclip.jar"
	install -m 755 bin/clearclip "$(DESTDIR)$(PREFIX)/bin/clearclip"
	@echo "installed $(DESTDIR)$(PREFIX)/bin/clearclip; put $(PREFIX)/bin on PATH if it is not (docs/cli.md, "Installing")"

# Installs into build/launcher-test and runs the installed command there (.ci/launcher_test.sh).
launcher-test:
	@rm -rf build/launcher-test
	@$(MAKE) --no-print-directory install-files PREFIX=$(CURDIR)/build/launcher-test/prefix
	bash .ci/launcher_test.sh $(CURDIR)/build/launcher-test $(FIXTURES)

# --- demo --------------------------------------------------------------------------------
# MODEL=path.gguf uses that file; otherwise the model cached by `clearclip pull`, pulling
# DEMO_REPO (q8_0) first when there is none.
CLI          = "$(JAVA_HOME)/bin/java" -jar java/cli/target/clearclip.jar
DEMO_REPO   ?= openai/clip-vit-base-patch16
DEMO_CLASSES ?= sky;cloud;sun;mountain;grass;road;house;tree;car
# where `clearclip pull` records the default model (CacheDirs: $XDG_CACHE_HOME or ~/.cache)
DEMO_DEFAULT := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/clearclip/models/default

demo: build
	@if [ -z "$(MODEL)" ] && [ ! -e "$(DEMO_DEFAULT)" ]; then \
	  echo "No model cached yet: pulling $(DEMO_REPO) (q8_0) from the Hugging Face hub..."; \
	  $(CLI) pull $(DEMO_REPO) --type q8_0; fi
	$(CLI) segment $(if $(MODEL),-m $(MODEL)) --image models/samples/scene.png --classes "$(DEMO_CLASSES)" -o build/demo
	@echo "Label map, overlay and summary written to build/demo/"

# --- benchmarks ----------------------------------------------------------------------------
# PyTorch fp32 against the engine on the ViT-B/16-sized fixture, same threads (bench/README.md).
BENCH_THREADS ?= 2
BENCH_REPEAT  ?= 5
BENCH_ARGS    ?=
BENCH_STAMP   := $(VENV)/.stamp-bench

$(BENCH_STAMP): bench/requirements.txt $(REF_STAMP)
	$(VENV_PY) -m pip install -q --disable-pip-version-check -r bench/requirements.txt
	@touch $@

bench: build $(FIXTURE_STAMP) $(BENCH_STAMP)
	$(VENV_PY) bench/side_by_side.py --threads $(BENCH_THREADS) --repeat $(BENCH_REPEAT) $(BENCH_ARGS)

# --- sanitizers and fuzzing (native/README.md, "Fuzzing and sanitizers") ---------------------
# One build directory for both: the engine, its ctest suite and the fuzz harnesses compiled with
# ASan + UBSan (and, with a clang that has libFuzzer, libFuzzer coverage). ggml itself is the
# uninstrumented pip build. ctest there also runs every seed/crasher through its harness.
SAN_DIR         ?= native/target/sanitize
SAN_CC          ?= $(shell command -v clang-14 || command -v clang || command -v gcc)
FUZZ_SECONDS    ?= 60
FUZZ_CI_SECONDS ?= 20
FUZZ_ARGS       ?=
FUZZ_HARNESSES  := model_load tokenize segment
# LSan stays on (detect_leaks=1, no suppressions needed); a UBSan report stops the process.
# No Vulkan driver is loaded there (ggml then offers no Vulkan device): the sanitizers judge the
# engine, not the machine's GPU drivers, and that build runs no device test.
SAN_ENV := ASAN_OPTIONS=detect_leaks=1 \
           UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
           VK_DRIVER_FILES=/nonexistent VK_ICD_FILENAMES=/nonexistent

sanitize-build: $(GGML_STAMP)
	@mkdir -p native/target; fuzz=OFF; \
	 if echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' | \
	    $(SAN_CC) -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null; then fuzz=ON; fi; \
	 echo "sanitizer build with $(SAN_CC) (libFuzzer: $$fuzz) in $(SAN_DIR)"; \
	 cmake -S native -B $(SAN_DIR) -DCMAKE_C_COMPILER=$(SAN_CC) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	       -DCMAKE_PREFIX_PATH=$(GGML_PREFIX) -DCLEARCLIP_FIXTURES=$(FIXTURES) \
	       -DCLEARCLIP_SANITIZE=ON -DCLEARCLIP_FUZZ=$$fuzz > $(SAN_DIR).configure.log 2>&1 \
	   || { cat $(SAN_DIR).configure.log >&2; exit 1; }
	cmake --build $(SAN_DIR) -j$(JOBS)

# Fixture-based tests in there read $(FIXTURES) (`make fixtures`), as in the normal build.
sanitize: sanitize-build
	$(SAN_ENV) ctest --test-dir $(SAN_DIR) --output-on-failure --output-junit $(abspath $(SAN_DIR))/ctest-junit.xml

# Each harness mutates from its committed seeds (native/fuzz/corpus/<harness>, read only) into a
# working corpus under $(SAN_DIR)/fuzz-work; findings are written to $(SAN_DIR)/fuzz-artifacts.
# One process per harness (-jobs is not used).
fuzz: sanitize-build
	@if ! grep -q '^CLEARCLIP_FUZZ:BOOL=ON' $(SAN_DIR)/CMakeCache.txt; then \
	   echo "ERROR: $(SAN_CC) has no libFuzzer: use SAN_CC=clang (Debian: clang-14 libclang-rt-14-dev libfuzzer-14-dev)" >&2; \
	   exit 1; fi
	@rc=0; for h in $(FUZZ_HARNESSES); do \
	   mkdir -p $(SAN_DIR)/fuzz-work/$$h $(SAN_DIR)/fuzz-artifacts; \
	   echo "fuzz_$$h: $(FUZZ_SECONDS) s"; \
	   if ! env $(SAN_ENV) TMPDIR=$(abspath $(SAN_DIR))/fuzz \
	        $(SAN_DIR)/fuzz/fuzz_$$h -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=$(abspath $(SAN_DIR))/fuzz-artifacts/$$h- $(FUZZ_ARGS) \
	        $(SAN_DIR)/fuzz-work/$$h native/fuzz/corpus/$$h > $(SAN_DIR)/fuzz-$$h.log 2>&1; then \
	     rc=1; grep -E 'ERROR|SUMMARY|invariant|Test unit written' $(SAN_DIR)/fuzz-$$h.log >&2 || tail -n 30 $(SAN_DIR)/fuzz-$$h.log >&2; \
	     echo "fuzz_$$h: FOUND A BUG (log: $(SAN_DIR)/fuzz-$$h.log); add the artifact to native/fuzz/corpus/$$h and fix it" >&2; \
	   fi; \
	   grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' $(SAN_DIR)/fuzz-$$h.log | sed "s/^/  fuzz_$$h /" || true; \
	 done; exit $$rc

# Without libFuzzer (gcc only) a local `make test` still runs the seeds through the harnesses
# (in `make sanitize`) and skips this with a warning; under CI (CI=true) that is an error.
fuzz-ci: sanitize-build
	@if grep -q '^CLEARCLIP_FUZZ:BOOL=ON' $(SAN_DIR)/CMakeCache.txt || [ "$${CI:-}" = true ]; then \
	   $(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_CI_SECONDS); \
	 else \
	   echo "WARNING: fuzz-ci skipped: $(SAN_CC) has no libFuzzer (install clang-14 libclang-rt-14-dev libfuzzer-14-dev)" >&2; \
	 fi

# System packages of the build and the tests (.ci/deps.sh: cmake, Maven, the aarch64 cross
# toolchain and qemu-user, Chromium, clang-14 with libFuzzer), installed with apt-get.
deps:
	bash .ci/deps.sh install

# `make test` first installs missing system packages when it can do so without asking (root or
# password-less sudo); otherwise it warns once per missing part and skips that part (under
# CI=true that is an error). The rest runs in a new make, which sees what was installed.
test:
	@bash .ci/deps.sh auto
	@$(MAKE) --no-print-directory test-run

# Runs ctest (through the native module) and every Surefire suite; with the arm64 natives
# (ARM64_TEST) their ctest suite under qemu-user in the native module and the CLI jar on an arm64
# JVM (.ci/arm64_smoke.py, compared with the host); then the sanitizer build's ctest (unit tests
# and fuzz seeds under ASan + UBSan) and a short fuzzing run; then prints one summary line over
# all of them. Any failure makes the target fail.
test-run: jdk $(GGML_STAMP) $(FIXTURE_STAMP)
	@mkdir -p build; touch build/.test-started
	@rc=0; $(MAVEN) -Dclearclip.arm64=$(ARM64_TEST) install || rc=$$?; \
	 if [ $$rc -eq 0 ]; then $(MAKE) --no-print-directory launcher-test || rc=$$?; fi; \
	 if [ $$rc -eq 0 ] && [ $(ARM64_TEST) = true ]; then \
	   $(VENV_PY) .ci/arm64_smoke.py --java "$(JAVA_HOME)/bin/java" --fixtures $(FIXTURES) || rc=$$?; fi; \
	 $(MAKE) --no-print-directory sanitize || { r=$$?; [ $$rc -ne 0 ] || rc=$$r; }; \
	 $(MAKE) --no-print-directory fuzz-ci || { r=$$?; [ $$rc -ne 0 ] || rc=$$r; }; \
	 $(PYTHON) .ci/test_summary.py --since build/.test-started . || { [ $$rc -ne 0 ] || rc=1; }; \
	 if [ $$rc -ne 0 ]; then echo "make test: FAILED (exit $$rc)" >&2; fi; \
	 exit $$rc

clean:
	rm -rf native/target bindings/target gguf-tools/target java/core/target java/cli/target java/spark/target build/.test-started

distclean: clean
	rm -rf build $(VENV)

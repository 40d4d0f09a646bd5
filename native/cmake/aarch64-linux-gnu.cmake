# CMake toolchain file: cross-compile for 64-bit ARM Linux (linux-aarch64) on an x86-64 Debian/Ubuntu
# host with the distribution's cross toolchain:
#   apt-get install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
# Used for ggml (its own CMake project, from the pinned sdist) and for the engine; see
# native/build-aarch64.sh, which both `make natives-arm64` and the Maven build call.
#
# Programs built with it (the ctest executables) run through qemu-user: CMake prefixes every
# add_test() command naming a target with CMAKE_CROSSCOMPILING_EMULATOR, so `ctest` runs the
# suite under emulation unchanged.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CLEARCLIP_CROSS_TRIPLE aarch64-linux-gnu CACHE STRING "GNU triple of the cross toolchain")
# Debian's libc6-dev-arm64-cross puts the target's libc, loader and headers here.
set(CLEARCLIP_CROSS_SYSROOT /usr/${CLEARCLIP_CROSS_TRIPLE} CACHE PATH
    "Directory with the target's lib/ld-linux-aarch64.so.1 and libc (qemu's -L)")

find_program(CMAKE_C_COMPILER ${CLEARCLIP_CROSS_TRIPLE}-gcc)
find_program(CMAKE_CXX_COMPILER ${CLEARCLIP_CROSS_TRIPLE}-g++)
if (NOT CMAKE_C_COMPILER OR NOT CMAKE_CXX_COMPILER)
    message(FATAL_ERROR "${CLEARCLIP_CROSS_TRIPLE}-gcc/g++ not found: apt-get install "
        "gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross")
endif()

# Target libraries and headers come from the cross sysroot only; programs (cmake helpers,
# python) from the host. Packages (ggml's CMake config) are looked up in CMAKE_PREFIX_PATH as
# given, since the cross-built ggml lives in a cache directory outside the sysroot.
set(CMAKE_FIND_ROOT_PATH ${CLEARCLIP_CROSS_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

find_program(CLEARCLIP_QEMU qemu-aarch64)
if (CLEARCLIP_QEMU)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${CLEARCLIP_QEMU} -L ${CLEARCLIP_CROSS_SYSROOT})
endif()

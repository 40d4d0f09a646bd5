#!/usr/bin/env bash
# Runs the installed `clearclip` command (make install-files PREFIX=WORK/prefix) as a user would:
# from PATH, through a symlink, with and without a usable JDK. Writes a JUnit report to
# java/cli/target/smoke-junit-launcher.xml for .ci/test_summary.py.
#   .ci/launcher_test.sh WORK FIXTURES
set -uo pipefail
work=$1
fixtures=$2
prefix=$work/prefix
report=java/cli/target/smoke-junit-launcher.xml
mkdir -p "$work/run" "$(dirname "$report")"
cases=()
failures=0

check() { # name, then a command that must succeed
    local name=$1; shift
    local log=$work/$name.log
    if "$@" >"$log" 2>&1; then
        echo "launcher: ok   $name"
        cases+=("<testcase classname=\"launcher\" name=\"$name\"/>")
    else
        echo "launcher: FAIL $name (log: $log)" >&2; sed 's/^/  /' "$log" >&2
        failures=$((failures + 1))
        cases+=("<testcase classname=\"launcher\" name=\"$name\"><failure message=\"see $log\"/></testcase>")
    fi
}

png_size() { python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print("%dx%d" % struct.unpack(">II", d[16:24]))' "$1"; }

export PATH="$prefix/bin:$PATH"
cd "$work/run" || exit 1

repo=$OLDPWD
scene=$repo/models/samples/scene.png

t_version() {
    local out; out=$(clearclip --version) || return 1
    echo "$out"; grep -q '^clearclip [0-9]' <<<"$out" && grep -q '^engine: .*ggml [0-9]' <<<"$out"
}
t_segment_size() {
    clearclip segment -m model.gguf --image "$scene" --classes 'sky;road;tree' -o out || return 1
    echo "labels $(png_size out/scene.labels.png), picture $(png_size "$scene")"
    [ "$(png_size out/scene.labels.png)" = "$(png_size "$scene")" ]
}
t_no_jdk() {
    # a PATH with the tools the launcher uses but no java, and no JDK folder to search
    local bin=$work/no-java-bin; mkdir -p "$bin"
    for tool in sh sed readlink dirname; do ln -sf "$(command -v $tool)" "$bin/$tool"; done
    local out rc
    out=$(env -i PATH="$bin" CLEARCLIP_JDK_SEARCH_DIR=/nonexistent sh "$prefix/bin/clearclip" --version 2>&1); rc=$?
    echo "exit $rc: $out"
    [ $rc -eq 1 ] && grep -q 'no Java 22 or newer found' <<<"$out"
}
t_bench_cli_rss() {
    # the bench finds the installed launcher next to the installed jar and measures a segment process
    # started by it: the whole process's peak RSS, with the launcher's JVM options
    clearclip bench -m model.gguf --thread-counts 1 --repeat 1 --json bench.json || return 1
    python3 - bench.json "$prefix/bin/clearclip" <<'PY'
import json, os, re, sys
run = json.load(open(sys.argv[1]))["runs"][0]
cli = run["cli_segment"]
print(cli)
assert run["cli_segment_rss_mb"] == cli["rss_mb"] > 0, cli
assert os.path.samefile(cli["launcher"], sys.argv[2]), cli
# every option on the launcher's exec line reached the measured JVM, and its malloc setting
options = re.findall(r"^\s+(-[-A-Za-z][^\s\\$]*)\s*\\$", open(sys.argv[2]).read(), re.M)
assert options and all(o in cli["jvm_args"].split() for o in options), (options, cli)
assert "MALLOC_MMAP_THRESHOLD_=" in cli["malloc_env"], cli
PY
}
t_usage_exit() {
    clearclip segment -m model.gguf --image "$scene" --classes '' -o out
    [ $? -eq 2 ]
}

check version t_version
check convert clearclip convert "$fixtures/hf-tiny" -o model.gguf
check segment-size t_segment_size
# through a symlink (how ~/bin or /usr/local/bin links usually point at an installation)
ln -sf "$prefix/bin/clearclip" "$work/link-clearclip"
check symlink "$work/link-clearclip" info model.gguf
# a JAVA_HOME that is no JDK >= 22 is passed over for one that is
check old-java-home env JAVA_HOME=/nonexistent clearclip tokenize -m model.gguf "a photo of a fox"
# no JDK at all: one clear line and exit 1
check no-jdk t_no_jdk
check bench-cli-rss t_bench_cli_rss
# a collector chosen in CLEARCLIP_JAVA_OPTS replaces the launcher's Serial (the JVM refuses two)
check other-gc env CLEARCLIP_JAVA_OPTS="-Xmx1g -XX:+UseG1GC" clearclip info model.gguf
# usage errors keep exit code 2 through the launcher
check usage-exit t_usage_exit

cd - >/dev/null || exit 1
{
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo "<testsuite name=\"launcher\" tests=\"${#cases[@]}\" failures=\"$failures\" errors=\"0\" skipped=\"0\">"
    printf '%s\n' "${cases[@]}"
    echo '</testsuite>'
} > "$report"
[ "$failures" -eq 0 ]

#!/usr/bin/env python3
"""Sums the test reports of one `make test` run into a single closing line.

Reads the Surefire XML reports (*/target/surefire-reports/TEST-*.xml), ctest's JUnit reports
(*/target/ctest-junit.xml; ctest-junit-aarch64.xml for the suite run under qemu-user;
*/target/<build>/ctest-junit.xml of extra builds such as the sanitizer build
native/target/sanitize) and the JUnit reports of scripted tests (*/target/smoke-junit-*.xml, e.g.
.ci/arm64_smoke.py) under the repository, keeping only files written after the --since
marker so reports left over from earlier runs do not count. Prints a table per module and
`tests: N passed, N failed, N skipped`; exits 1 if a test failed or no report was found.
"""
import argparse
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def suites(root):
    """testsuite elements of a report, whether its root is <testsuite> or <testsuites>."""
    return [root] if root.tag == "testsuite" else root.findall("testsuite")


def count(report):
    tests = failed = skipped = 0
    for suite in suites(ET.parse(report).getroot()):
        tests += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0)) + int(suite.get("disabled", 0) or 0)
    return tests, failed, skipped


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--since", required=True, help="file whose mtime starts this run")
    parser.add_argument("root", help="repository root")
    args = parser.parse_args()
    since = os.path.getmtime(args.since)
    root = Path(args.root)

    patterns = ("**/target/surefire-reports/TEST-*.xml", "**/target/ctest-junit*.xml",
                "**/target/*/ctest-junit.xml", "**/target/smoke-junit-*.xml")
    reports = sorted({p for pattern in patterns for p in root.glob(pattern) if p.stat().st_mtime >= since})
    per_module = {}
    for report in reports:
        module = str(report.relative_to(root)).split("/target/")[0]
        if not report.name.startswith(("ctest-junit", "smoke-junit")):
            kind = "junit"
        elif report.parent.name == "target":
            # ctest-junit.xml -> "ctest", ctest-junit-aarch64.xml -> "ctest aarch64"
            kind = report.stem.replace("-junit", "").replace("-", " ")
        else:  # an extra build, e.g. native/target/sanitize
            kind = f"ctest {report.parent.name}"
        key = f"{module} ({kind})"
        t, f, s = count(report)
        acc = per_module.setdefault(key, [0, 0, 0])
        acc[0] += t
        acc[1] += f
        acc[2] += s

    print()
    print("=" * 60)
    print(f"{'module':<36}{'passed':>8}{'failed':>8}{'skipped':>8}")
    total = [0, 0, 0]
    for key, (t, f, s) in sorted(per_module.items()):
        print(f"{key:<36}{t - f - s:>8}{f:>8}{s:>8}")
        total = [total[0] + t, total[1] + f, total[2] + s]
    print("=" * 60)
    passed = total[0] - total[1] - total[2]
    print(f"tests: {passed} passed, {total[1]} failed, {total[2]} skipped")
    if not reports:
        print("no test report was written: nothing ran", file=sys.stderr)
        return 1
    return 1 if total[1] else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Reads sanitize.sh's logs (TOOL-RUN.txt and TOOL-RUN.launches) and prints one table: per tool, the kernels that ran
through Fusion (the launch logs), and the errors compute-sanitizer reported in Fusion's kernels and in others (cuBLASLt's
nvjet_* kernels, whose launches Fusion does not make itself). An error report is a "========= " line that is not
indented detail, with the lines up to the next one; it is Fusion's when it names a kernel of that run's launch log."""
import collections, glob, os, re, sys

TOOLS = ["memcheck", "initcheck", "racecheck", "synccheck"]
NOT_AN_ERROR = re.compile(r"^========= (\s|ERROR SUMMARY|COMPUTE-SANITIZER|Program hit|Target application|Saved host backtrace|Host Frame|LEAK SUMMARY|RACECHECK SUMMARY|$)")
KERNEL_AT = re.compile(r"\bat (?:0x[0-9a-fA-F]+ in )?(?:void )?([A-Za-z_][\w:]*)")
WORD = re.compile(r"[A-Za-z_]\w*")


def error_blocks(lines):
    block = None
    for line in lines:
        if line.startswith("========= ") and not NOT_AN_ERROR.match(line):
            if block:
                yield block
            block = [line]
        elif block is not None and line.startswith("=========     "):
            block.append(line)
        elif block is not None:
            yield block
            block = None
    if block:
        yield block


def main(out):
    print(f"{'tool':<10} {'kernels covered':>15} {'errors in Fusion':>17} {'errors third-party':>19}")
    details = []
    for tool in TOOLS:
        covered, ours, theirs = set(), 0, 0
        for log in sorted(glob.glob(os.path.join(out, f"{tool}-*.txt"))):  # repro-* files are not Fusion's runs
            launches = log[:-4] + ".launches"
            fusion = set(open(launches).read().split()) if os.path.exists(launches) else set()
            covered |= fusion
            lines = open(log, errors="replace").read().splitlines()
            if lines and lines[-1].startswith("exit=") and lines[-1] != "exit=0":
                details.append(f"{tool}: {os.path.basename(log)[:-4]} ended with {lines[-1]}")
            counts = collections.Counter()
            for block in error_blocks(lines):
                words = set(WORD.findall(" ".join(block)))
                mine = sorted(words & fusion)
                if mine:
                    ours += 1
                    counts["Fusion " + mine[0]] += 1
                else:
                    theirs += 1
                    m = KERNEL_AT.search(" ".join(block))
                    counts["third-party " + (m.group(1) if m else block[0][10:60])] += 1
            for what, n in counts.most_common(12):
                details.append(f"{tool}: {os.path.basename(log)[:-4]}: {n} in {what}")
        print(f"{tool:<10} {len(covered):>15} {ours:>17} {theirs:>19}")
    for line in details:
        print("  " + line)
    for log in sorted(glob.glob(os.path.join(out, "repro-*.txt"))):
        lines = open(log, errors="replace").read().splitlines()
        summary = next((l[10:] for l in lines if l.startswith("========= ERROR SUMMARY")), "no summary")
        kernels = collections.Counter((KERNEL_AT.search(" ".join(b)) or [None, "?"])[1] for b in error_blocks(lines))
        ended = f" (ended with {lines[-1]})" if lines and lines[-1].startswith("exit=") and lines[-1] != "exit=0" else ""
        print(f"  {os.path.basename(log)[:-4]} (cuBLASLt without Fusion): {summary}{ended}; "
              + ", ".join(f"{n} in {k}" for k, n in kernels.most_common(3)))


if __name__ == "__main__":
    main(sys.argv[1])

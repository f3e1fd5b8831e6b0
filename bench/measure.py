#!/usr/bin/env python3
"""Time a command over several runs and report wall time and peak memory.

usage: measure.py RUNS -- COMMAND [ARGS...]

Prints one line: min and median wall seconds over RUNS (after one warm-up run, so the page
cache is warm) and the largest peak resident set size of any run, in MiB. The command's
output goes to /dev/null; its exit code may be non-zero (findings exit 1).
"""
import os, statistics, subprocess, sys, time

def main():
    runs = int(sys.argv[1])
    cmd = sys.argv[sys.argv.index("--") + 1:]
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # warm-up
    walls, peaks = [], []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - start)
        peaks.append(usage.ru_maxrss / 1024)  # KiB on Linux
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            sys.exit(f"command failed with exit code {code}: {' '.join(cmd)}")
    print(f"wall min {min(walls):.3f}s median {statistics.median(walls):.3f}s  peak RSS {max(peaks):.1f} MiB  ({runs} runs)")

if __name__ == "__main__":
    main()

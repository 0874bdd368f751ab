#!/usr/bin/env python3
"""Throughput of frameprint.hash_file from Python threads: the GIL is
released while decoding and hashing, so N threads should approach N times
one thread on N free cores. Prints one line per thread count and the ratio
to one thread, measured in the same run.

  PYTHONPATH=build/python python3 benchmarks/python_threads.py [TESTDATA] [ROUNDS] [THREADS...]
"""

import concurrent.futures
import os
import pathlib
import sys
import time

import frameprint


def main():
    testdata = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/testdata")
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    counts = [int(t) for t in sys.argv[3:]] or [1, os.cpu_count() or 1]
    files = sorted((testdata / "pdq" / "images").glob("*.jpg"))
    files += sorted((testdata / "vpdq" / "videos").glob("*.mp4"))
    work = files * rounds
    frameprint.hash_file(files[0], device="cpu")  # backends made, module loaded
    base = None
    print(f"{len(files)} files x {rounds} rounds, device cpu, one decoder thread per file")
    for n in counts:
        with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
            start = time.perf_counter()
            results = list(pool.map(lambda f: frameprint.hash_file(f, device="cpu"), work))
            seconds = time.perf_counter() - start
        assert all(r["status"] == "ok" for r in results)
        rate = len(work) / seconds
        base = base or rate
        print(f"threads {n}: {rate:.1f} files/s ({seconds:.2f} s), x{rate / base:.2f} of 1 thread")


if __name__ == "__main__":
    main()

"""Runs several commands at once (each given as one shell-quoted string), waits for all, and
prints {"seconds": wall time of all, "rows": sum of each command's JSON "total",
"rows_per_second": rows / seconds, "peak_rss_mb": the largest child's peak RSS, "remaining":
sum of "remaining"} as JSON. Used by migrate.sh for shards run side by side."""
import json
import resource
import shlex
import subprocess
import sys
import time

start = time.perf_counter()
procs = [subprocess.Popen(shlex.split(c), stdout=subprocess.PIPE) for c in sys.argv[1:]]
outs = [p.communicate()[0] for p in procs]
wall = time.perf_counter() - start
for p in procs:
    if p.returncode != 0:
        sys.exit(f"a command failed with status {p.returncode}")
reports = [json.loads(o) for o in outs]
rows = sum(r["total"] for r in reports)
print(json.dumps({
    "seconds": wall,
    "rows": rows,
    "rows_per_second": rows / wall,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    "remaining": sum(r["remaining"] for r in reports),
}))

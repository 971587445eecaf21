"""Runs a command, prints {"seconds": wall, "peak_rss_mb": peak RSS of the child} as JSON on
stderr's last line and passes the child's stdout through. Used by migrate.sh."""
import json
import resource
import subprocess
import sys
import time

start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE)
wall = time.perf_counter() - start
rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stdout.buffer.write(proc.stdout)
print(json.dumps({"seconds": wall, "peak_rss_mb": rss_kb / 1024, "status": proc.returncode}), file=sys.stderr)
sys.exit(proc.returncode)

#!/bin/sh
# Remakes the committed traces (traces/*.trace.gz): `npm run traces:record -w @memkit/bench`.
# Needs gcc, sqlite3 and g++ (the trace is cc1plus's), and the bench built (the script builds it).
# Recordings are not byte-identical between machines or runs (addresses, library versions),
# but the programs and their inputs are fixed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bench=$(dirname "$here")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
convert="$bench/dist/traces/convert.js"

gcc -O2 -Wall -shared -fPIC -o "$work/recorder.so" "$here/recorder/recorder.c" -ldl -lpthread

# T1: the SQLite CLI running a generated script (tables, ~100k rows, indexes, queries, updates, deletes).
node "$here/programs/sqlite-workload.mjs" > "$work/workload.sql"
MEMKIT_TRACE_OUT="$work/sqlite" LD_PRELOAD="$work/recorder.so" sqlite3 "$work/t1.db" < "$work/workload.sql" > /dev/null
node "$convert" "$work"/sqlite.*.raw "$here/sqlite.trace.gz" --name sqlite \
  --program "sqlite3 $(sqlite3 --version | cut -d' ' -f1) running traces/programs/sqlite-workload.mjs"

# T2: cc1plus compiling traces/programs/compile-me.cpp at -O2; the first 1.2M events
# (the whole compile is ~7.9M: parsing and instantiating the headers, before the optimiser runs).
MEMKIT_TRACE_OUT="$work/gxx" MEMKIT_TRACE_ONLY=cc1plus LD_PRELOAD="$work/recorder.so" \
  g++ -std=c++17 -O2 -c "$here/programs/compile-me.cpp" -o "$work/compile-me.o"
node "$convert" "$work"/gxx.*.raw "$here/gxx.trace.gz" --name gxx --cap 1200000 \
  --program "cc1plus (g++ $(g++ -dumpfullversion) -std=c++17 -O2 -c traces/programs/compile-me.cpp)"

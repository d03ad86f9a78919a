#!/usr/bin/env bash
# The harness as users get it, checked from a shell: the "sockclose/harness" subpath (require and
# import, by the package's own name), the "sockclose" bin (shebang, runs), and the CLI's exit-code
# contract in a script: serve on port 0, read the address, probe, signal. Loopback only; about 5 s.
set -uo pipefail
cd "${CI_ROOT:-$(dirname "$0")/../..}"
out="${CI_OUT:-.ci/out}/60-harness-cli.json"
passed=0
failed=0
pids=()
logs=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  rm -f "${logs[@]}"
}
trap cleanup EXIT

check() { # check <description> <command...>: one result per check
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok   $what"
  else
    failed=$((failed + 1))
    echo "FAIL $what" >&2
  fi
}

expect_exit() { # expect_exit <code> <command...>
  local want=$1
  shift
  "$@" >/dev/null 2>&1
  local got=$?
  [ "$got" -eq "$want" ] || { echo "  exit $got, expected $want: $*" >&2; return 1; }
}

# Starts `sockclose <command> ... --json` in the background, output to a file (a reader that goes
# away would make its next line fail with EPIPE); sets $addr from its first line.
start() {
  local log
  log=$(mktemp)
  logs+=("$log")
  node "$bin" "$@" --json >"$log" &
  pids+=($!)
  started_pid=$!
  for _ in $(seq 1 200); do
    [ -s "$log" ] && break
    sleep 0.05
  done
  addr=$(head -1 "$log" | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => { try { const l = JSON.parse(s); console.log(`${l.host}:${l.port}`); } catch {} })')
  [ -n "$addr" ]
}

bin=$(node -p 'require("./package.json").bin && require("./package.json").bin.sockclose || ""')
check 'package.json names the sockclose bin' test -n "$bin"
# Without one, every later check must fail, not run something else.
bin=${bin:-missing-sockclose-bin}
check 'the bin starts with a node shebang' sh -c "head -1 '$bin' 2>/dev/null | grep -qx '#!/usr/bin/env node'"
check 'sockclose --version prints the package version' sh -c "[ \"\$(node '$bin' --version)\" = \"\$(node -p 'require(\"./package.json\").version')\" ]"
check "require('sockclose/harness')" node -e 'const h = require("sockclose/harness"); for (const f of ["createFaultServer","createFaultProxy","observeClose","probe"]) if (typeof h[f] !== "function") process.exit(1)'
check "import('sockclose/harness')" node --input-type=module -e 'const h = await import("sockclose/harness"); for (const f of ["createFaultServer","createFaultProxy","observeClose","probe"]) if (typeof h[f] !== "function") process.exit(1)'
check "sockclose/harness is not in the main entry" node -e 'if ("createFaultServer" in require("sockclose")) process.exit(1)'

check 'a bad flag is exit 2' expect_exit 2 node "$bin" serve --behavior nope
if start serve --behavior close-with-unread; then
  check 'probe of the seed 004 server: exit 3 (reset)' expect_exit 3 node "$bin" probe "$addr" --send 4
  check 'probe --expect rst: exit 0' expect_exit 0 node "$bin" probe "$addr" --send 4 --expect rst
  kill -TERM "$started_pid"
  check 'serve stops on SIGTERM with exit 0' wait "$started_pid"
else
  check 'serve prints its address' false
fi
if start serve --behavior lingering-close; then
  check 'probe of a lingering close: exit 0 (FIN)' expect_exit 0 node "$bin" probe "$addr" --send 4
  if start proxy --upstream "$addr" --toxic limit_data:bytes=1000,mode=reset; then
    check 'probe through limit_data reset: exit 3' expect_exit 3 node "$bin" probe "$addr" --send 4
  else
    check 'proxy prints its address' false
  fi
else
  check 'serve prints its address' false
fi
check 'probe of a closed port: exit 5' expect_exit 5 node "$bin" probe 127.0.0.1:1

printf '{"passed":%d,"failed":%d}\n' "$passed" "$failed" >"$out"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

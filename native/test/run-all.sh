#!/usr/bin/env bash
# The C test suite, three ways, plus a short fuzz run:
#   1. normal build (RelWithDebInfo), ctest
#   2. ASan+UBSan build (-DCONVENE_SANITIZE=ON), ctest with detect_leaks=1
#   3. every C test under valgrind memcheck (-DCONVENE_VALGRIND=ON on the normal build):
#      any memory error or definite/indirect leak fails
#   4. optional: fuzz_frames, fuzz_media_frame and fuzz_media_state for CONVENE_FUZZ_SECONDS in
#      all (default 20, split 1/2, 1/4, 1/4; 0 skips) when clang exists
# Exits non-zero if any stage failed, after running them all, and prints what failed.
#
# Needs dist/ (npm run build) and node_modules (npm ci) for the integration tests.
# Environment: CONVENE_TEST_BUILD_ROOT (default build/native-tests), CONVENE_TEST_JOBS
# (parallel tests, default 4), CONVENE_FUZZ_SECONDS, CONVENE_SKIP_VALGRIND=1, CONVENE_SKIP_ASAN=1.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
B=${CONVENE_TEST_BUILD_ROOT:-$ROOT/build/native-tests}
JOBS=${CONVENE_TEST_JOBS:-4}
CORES=$(nproc 2>/dev/null || echo 2)
FUZZ_SECONDS=${CONVENE_FUZZ_SECONDS:-20}
mkdir -p "$B"

results=()
failed=0
note() { printf '\n=== %s\n' "$*"; }
record() { # name status seconds detail
  results+=("$(printf '%-10s %-6s %4ss  %s' "$1" "$2" "$3" "$4")")
  [ "$2" = FAIL ] && failed=1
  return 0
}

# Fixture servers are stopped by ctest's cleanup test; this catches an interrupted run.
cleanup() {
  for d in "$B"/*/native/test/fixture; do
    [ -d "$d" ] && node native/test/fixture/server-fixture.js stop "$d" >/dev/null 2>&1
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -f dist/cli.js ] || [ ! -d node_modules/opentok ]; then
  echo "run-all: dist/cli.js or node_modules/opentok missing: run 'npm ci && npm run build' first" >&2
  exit 2
fi

# stage NAME BUILD_DIR CTEST_ARGS CMAKE_ARGS...
stage() {
  local name=$1 dir=$2 ctest_args=$3
  shift 3
  local t0=$SECONDS log="$B/$name.log"
  note "$name: configure + build ($dir)"
  if ! cmake -S "$ROOT" -B "$dir" -DCONVENE_TESTS=ON "$@" >"$log" 2>&1 ||
     ! cmake --build "$dir" -j"$CORES" >>"$log" 2>&1; then
    tail -40 "$log"
    record "$name" FAIL $((SECONDS - t0)) "build failed (log: $log)"
    return
  fi
  note "$name: ctest $ctest_args"
  local out="$B/$name.ctest.log"
  # shellcheck disable=SC2086
  (cd "$dir" && ctest --output-on-failure --no-tests=error -j"$JOBS" $ctest_args) 2>&1 | tee "$out" |
    grep -E --line-buffered '(\*\*\*|Passed|tests passed|Total Test time)' | grep -v '^ *Start'
  local rc=${PIPESTATUS[0]}
  local summary
  summary=$(grep -E 'tests passed' "$out" | tail -1)
  if [ "$rc" -ne 0 ]; then
    local which
    which=$(sed -n '/The following tests FAILED/,$p' "$out" | grep -E '^\s+[0-9]+ - ' | sed 's/^[[:space:]]*//' | tr '\n' ';' | sed 's/;/; /g')
    note "$name: output of the failed tests (full log: $out)"
    awk '/\*\*\*|Exception|Not Run/ {show = 1; n = 0} /^ *[0-9]+\/[0-9]+ Test / && !/\*\*\*|Exception|Not Run/ {show = 0}
         show && !/^ *Start / && n++ < 80' "$out"
    record "$name" FAIL $((SECONDS - t0)) "${summary:-ctest failed}; failed: ${which:-see $out}"
  else
    record "$name" ok $((SECONDS - t0)) "$summary"
  fi
}

stage normal "$B/normal" "" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONVENE_SANITIZE=OFF -DCONVENE_VALGRIND=OFF

if [ "${CONVENE_SKIP_ASAN:-0}" != 1 ]; then
  stage asan "$B/asan" "" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONVENE_SANITIZE=ON -DCONVENE_VALGRIND=OFF
else
  record asan skip 0 "CONVENE_SKIP_ASAN=1"
fi

if [ "${CONVENE_SKIP_VALGRIND:-0}" = 1 ]; then
  record valgrind skip 0 "CONVENE_SKIP_VALGRIND=1"
elif ! command -v valgrind >/dev/null; then
  record valgrind FAIL 0 "valgrind is not installed (apt-get install valgrind, or CONVENE_SKIP_VALGRIND=1)"
else
  # same build as "normal" (nothing recompiles): the tests are re-registered under valgrind
  stage valgrind "$B/normal" "-L memcheck" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONVENE_SANITIZE=OFF -DCONVENE_VALGRIND=ON
  cmake -S "$ROOT" -B "$B/normal" -DCONVENE_VALGRIND=OFF >/dev/null 2>&1
fi

if [ "$FUZZ_SECONDS" = 0 ]; then
  record fuzz skip 0 "CONVENE_FUZZ_SECONDS=0"
elif ! command -v clang >/dev/null; then
  record fuzz skip 0 "clang not installed"
else
  # one fuzz budget, split: fuzz_frames (network text, session state) 2/5, fuzz_media_frame
  # (media frames, Opus, resampler, PCM queue) 1/5, fuzz_media_state (routing by track,
  # subscribe / unsubscribe, decoding) 1/5, fuzz_video (video packets, VP8, frames) 1/5
  media_seconds=$((FUZZ_SECONDS / 5))
  [ "$media_seconds" -lt 1 ] && media_seconds=1
  frames_seconds=$((FUZZ_SECONDS - 3 * media_seconds))
  [ "$frames_seconds" -lt 1 ] && frames_seconds=1
  t0=$SECONDS
  note "fuzz: build fuzz_frames + fuzz_media_frame + fuzz_media_state + fuzz_video (clang), run ${frames_seconds}s + 3 x ${media_seconds}s"
  log="$B/fuzz.log"
  if CC=clang cmake -S "$ROOT" -B "$B/fuzz" -DCONVENE_FUZZ=ON -DCONVENE_TESTS=OFF >"$log" 2>&1 &&
     cmake --build "$B/fuzz" -j"$CORES" --target fuzz_frames fuzz_media_frame fuzz_media_state fuzz_video >>"$log" 2>&1; then
    art="$B/fuzz/artifacts/"
    mkdir -p "$art"
    fuzz_detail=""
    fuzz_status=ok
    # fuzz_one TARGET SECONDS CORPUS [extra args]
    fuzz_one() {
      local target=$1 secs=$2 corpus=$3
      shift 3
      local work="$B/fuzz/corpus-work-$target" tlog="$B/fuzz-$target.log"
      mkdir -p "$work"
      "$B/fuzz/$target" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$art$target-" "$@" \
        "$work" "$corpus" >"$tlog" 2>&1
      local rc=$?
      cat "$tlog" >>"$log"
      local execs
      execs=$(grep -E 'stat::number_of_executed_units' "$tlog" | tail -1 | awk '{print $2}')
      if [ $rc -ne 0 ]; then
        grep -E 'ERROR|SUMMARY|Test unit written' "$tlog" | head -5
        fuzz_status=FAIL
        fuzz_detail="$fuzz_detail$target found a crash (log: $tlog, artifacts: $art); "
      else
        fuzz_detail="$fuzz_detail$target ${execs:-?} executions, no crash; "
      fi
    }
    fuzz_one fuzz_frames "$frames_seconds" native/fuzz/corpus -dict=native/fuzz/frames.dict
    fuzz_one fuzz_media_frame "$media_seconds" native/fuzz/corpus-media
    fuzz_one fuzz_media_state "$media_seconds" native/fuzz/corpus-media-state -dict=native/fuzz/frames.dict
    fuzz_one fuzz_video "$media_seconds" native/fuzz/corpus-video
    record fuzz "$fuzz_status" $((SECONDS - t0)) "$fuzz_detail"
  else
    tail -20 "$log"
    record fuzz FAIL $((SECONDS - t0)) "fuzz build failed (log: $log)"
  fi
fi

note "summary"
for r in "${results[@]}"; do echo "  $r"; done
if [ $failed -ne 0 ]; then
  echo "run-all: FAILED" >&2
  exit 1
fi
echo "run-all: all passed"

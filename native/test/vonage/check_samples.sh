#!/usr/bin/env bash
# ctest samples.vonage (issue 18, acceptance): the Vonage Linux SDK samples Basic-Video-Chat,
# Custom-Video-Capturer, Publisher-Only and Custom-Audio-Device (opentok-linux-sdk-samples)
# compile UNCHANGED against Convene's headers and libopentok.pc, with only their SDL renderer
# replaced by samples/renderer.{h,cpp} (a headless one of the same interface, ours), and run
# against the real server of the CTest fixture. Their sources are not part of this
# repository: give a checkout of that repository in VONAGE_SAMPLES_DIR, else the test is
# skipped (exit 77). Nothing is written into the checkout (config.h goes to WORK_DIR).
#
#   VONAGE_SAMPLES_DIR=/path/to/opentok-linux-sdk-samples ctest -R samples.vonage
#   check_samples.sh BUILD_DIR WORK_DIR FIXTURE_JSON CASE CXX CC
#
# What runs (each sample's runEventLoop lasts CONVENE_SAMPLE_SECONDS):
#  1. Basic-Video-Chat, then Custom-Video-Capturer in the same session: the capturer's
#     1280x720 ARGB32 frames reach Custom-Video-Capturer's preview (publisher on_render_frame)
#     and Basic-Video-Chat's subscriber (on_render_frame), at least MIN_FRAMES each.
#  2. `convene join --record` in a session, then Publisher-Only and Custom-Audio-Device:
#     both streams are created, and the recording holds Custom-Audio-Device's 400 Hz tone
#     (written through otc_audio_device_write_capture_data).
set -euo pipefail
build=$1 work=$2 fixture=$3 case=$4 cxx=${5:-c++} cc=${6:-cc}
here=$(cd "$(dirname "$0")" && pwd)
samples=${VONAGE_SAMPLES_DIR:-}
names=(Basic-Video-Chat Custom-Video-Capturer Publisher-Only Custom-Audio-Device)
MIN_FRAMES=${CONVENE_SAMPLES_MIN_FRAMES:-30}

if [ -z "$samples" ]; then
  echo "samples.vonage skipped: set VONAGE_SAMPLES_DIR to a checkout of opentok-linux-sdk-samples"
  exit 77
fi
for n in "${names[@]}"; do
  [ -f "$samples/$n/main.cpp" ] || { echo "$samples/$n/main.cpp is missing (VONAGE_SAMPLES_DIR)"; exit 1; }
done
[ -f "$samples/common/src/otk_thread.c" ] || { echo "$samples/common/src/otk_thread.c is missing"; exit 1; }

rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }

# ---- the SDK, installed and found the Vonage way (libopentok.pc) ----
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
pcdir=$(dirname "$(find "$prefix" -name libopentok.pc | head -1)")
libdir=$(dirname "$pcdir")
syspc=$(pkg-config --variable pc_path pkg-config)
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_LIBDIR=$pcdir:$syspc
read -r -a sdk <<<"$(pkg-config --cflags --libs libopentok)"

# ---- the credentials: config.h, as the samples' README has you write it ----
js() { node -e "const f=require(process.argv[1]); console.log($1)" "$fixture"; }
url=$(js 'f.servers.main.url')
api_key=$(js 'f.apiKey')
session=$(js "f.sessions['$case'].id")
token() { js "f.sessions['$case'].tokens['$1']"; }
export CONVENE_SERVER_URL=$url
write_config() { # DIR TOKEN
  mkdir -p "$1"
  printf '#ifndef MYCONFIG_H\n#define MYCONFIG_H\n#define API_KEY "%s"\n#define SESSION_ID "%s"\n#define TOKEN "%s"\n#endif\n' \
    "$api_key" "$session" "$2" >"$1/config.h"
}

# ---- compile: their main.cpp and otk_thread.c unchanged, our renderer ----
"$cc" -c -o "$work/otk_thread.o" "$samples/common/src/otk_thread.c"
"$cxx" -std=c++14 -c -o "$work/renderer.o" -I"$here/samples" "${sdk[@]}" "$here/samples/renderer.cpp"
build_sample() { # NAME TOKEN_KIND
  local dir=$work/$1
  write_config "$dir" "$(token "$2")"
  # include order: config.h, then the headless renderer.h before the samples' SDL one
  "$cxx" -std=c++14 -o "$dir/sample" -I"$dir" -I"$here/samples" -I"$samples/common/src" "$samples/$1/main.cpp" \
    "$work/renderer.o" "$work/otk_thread.o" "${sdk[@]}" -pthread -Wl,-rpath,"$libdir" >"$dir/build.log" 2>&1 ||
    { cat "$dir/build.log"; fail "$1 does not compile against native/include"; }
  echo "compiled: $1"
}
build_sample Basic-Video-Chat publisher
build_sample Custom-Video-Capturer publisher2
build_sample Publisher-Only publisher
build_sample Custom-Audio-Device publisher2

run_sample() { # NAME SECONDS: in the background, output to NAME/out.log
  (cd "$work/$1" && CONVENE_SAMPLE_SECONDS=$2 exec ./sample >out.log 2>&1) &
}
renderer_frames() { # NAME INDEX: frames of that renderer, with the size
  sed -n "s/^headless-renderer: renderer $2 frames \([0-9]*\) size \([0-9x]*\) bad 0$/\1 \2/p" "$work/$1/out.log"
}
check_clean_exit() { # NAME PID
  wait "$2" || { cat "$work/$1/out.log"; fail "$1 exited with $?"; }
  if grep -E "(Session|Publisher|Subscriber) error" "$work/$1/out.log"; then fail "$1 reported an error"; fi
  grep -q "^headless-renderer: dropped" "$work/$1/out.log" || fail "$1 did not return from runEventLoop"
}

# ---- 1. video: Custom-Video-Capturer's frames to Basic-Video-Chat ----
run_sample Basic-Video-Chat 14
bvc=$!
sleep 2
run_sample Custom-Video-Capturer 8
cvc=$!
check_clean_exit Custom-Video-Capturer $cvc
check_clean_exit Basic-Video-Chat $bvc
read -r cvc_frames cvc_size <<<"$(renderer_frames Custom-Video-Capturer 0)"
echo "Custom-Video-Capturer: preview (publisher on_render_frame) ${cvc_frames:-0} frames at ${cvc_size:-?}"
[ "${cvc_frames:-0}" -ge "$MIN_FRAMES" ] && [ "$cvc_size" = 1280x720 ] || { cat "$work/Custom-Video-Capturer/out.log"; fail "Custom-Video-Capturer: too few preview frames"; }
grep -q "on_session_stream_received" "$work/Basic-Video-Chat/out.log" || fail "Basic-Video-Chat received no stream"
grep -q "on_subscriber_connected" "$work/Basic-Video-Chat/out.log" || fail "Basic-Video-Chat's subscriber did not connect"
read -r bvc_frames bvc_size <<<"$(renderer_frames Basic-Video-Chat 1)"
echo "Basic-Video-Chat: subscriber on_render_frame ${bvc_frames:-0} frames at ${bvc_size:-?}"
[ "${bvc_frames:-0}" -ge "$MIN_FRAMES" ] && [ "$bvc_size" = 1280x720 ] || { cat "$work/Basic-Video-Chat/out.log"; fail "Basic-Video-Chat: too few subscriber frames"; }

# ---- 2. audio: Custom-Audio-Device's tone in a recording; Publisher-Only publishes ----
cli=$(js 'f.cli')
wav=$work/record.wav
(sleep 12 | node "$cli" join --server-url "$url" --api-key "$api_key" --session "$session" \
   --token "$(token subscriber)" --record "$wav" >"$work/join.log" 2>&1) &
rec=$!
sleep 2
run_sample Publisher-Only 6
po=$!
run_sample Custom-Audio-Device 6
cad=$!
check_clean_exit Publisher-Only $po
check_clean_exit Custom-Audio-Device $cad
wait $rec || { cat "$work/join.log"; fail "convene join --record exited with $?"; }
for n in Publisher-Only Custom-Audio-Device; do
  grep -q "on_publisher_stream_created" "$work/$n/out.log" || { cat "$work/$n/out.log"; fail "$n: no stream created"; }
  echo "$n: stream created"
done
[ "$(grep -c '"event":"recording"' "$work/join.log")" -ge 2 ] || { cat "$work/join.log"; fail "the recorder did not subscribe to both streams"; }
node - "$wav" <<'JS' || fail "Custom-Audio-Device's tone is not in the recording"
const b = require('fs').readFileSync(process.argv[2]);
const rate = b.readUInt32LE(24), n = (b.length - 44) / 2;
const x = new Float64Array(n);
for (let i = 0; i < n; i++) x[i] = b.readInt16LE(44 + 2 * i);
// amplitude of hz over the loudest second (Goertzel)
const amp = (hz, from, len) => {
  const c = 2 * Math.cos(2 * Math.PI * hz / rate);
  let s1 = 0, s2 = 0;
  for (let i = from; i < from + len; i++) { const s = x[i] + c * s1 - s2; s2 = s1; s1 = s; }
  return 2 * Math.sqrt(Math.max(0, s1 * s1 + s2 * s2 - c * s1 * s2)) / len;
};
let best = 0, at = 0;
for (let from = 0; from + rate <= n; from += rate / 4) { const a = amp(400, from, rate); if (a > best) { best = a; at = from; } }
const other = amp(1000, at, rate);
console.log(`recording: ${(n / rate).toFixed(1)} s; loudest second: 400 Hz amplitude ${best.toFixed(0)}, 1 kHz ${other.toFixed(1)}`);
process.exit(best > 8000 && best > 50 * other ? 0 : 1);
JS
echo "samples.vonage: the four samples compiled unchanged and ran against the server"

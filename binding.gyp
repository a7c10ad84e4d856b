{
  "targets": [
    {
      "target_name": "convene",
      "sources": [
        "native/binding/addon.cc",
        "native/binding/args.cc",
        "native/binding/callbacks.cc",
        "native/binding/core.cc",
        "native/binding/marshal.cc",
        "native/binding/options.cc",
        "native/binding/publisher.cc",
        "native/binding/pump.cc",
        "native/binding/session.cc",
        "native/binding/subscriber.cc",
        "native/src/log.c",
        "native/src/clock.c",
        "native/src/timer.c",
        "native/src/transport.c",
        "native/src/frame.c",
        "native/src/objects.c",
        "native/src/policy.c",
        "native/src/errors.c",
        "native/src/media/media_frame.c",
        "native/src/media/opus_codec.c",
        "native/src/media/resampler.c",
        "native/src/media/pcm_queue.c",
        "native/src/media/engine.c",
        "native/src/state.c",
        "native/src/state_dispatch.c",
        "native/src/state_out.c",
        "native/src/state_request.c",
        "native/src/state_publisher.c",
        "native/src/state_subscriber.c",
        "native/src/state_end.c",
        "native/src/recovery.c",
        "native/src/cmd_queue.c",
        "native/src/service.c",
        "native/src/session.c",
        "native/src/publisher.c",
        "native/src/convene.c",
        "native/src/subscriber.c",
        "native/src/audio.c"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native/include",
        "native/src",
        "<!@(pkg-config --cflags-only-I opus speexdsp | sed s/-I//g)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "_POSIX_C_SOURCE=200809L", "_DEFAULT_SOURCE", "CONVENE_WITH_LIBEV"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "cflags_c": ["-std=c11"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "cflags!": ["-fno-exceptions"],
      "libraries": ["<!@(pkg-config --libs libwebsockets jansson opus speexdsp)", "-lev", "-lpthread", "-lm"]
    }
  ]
}

/*
 * The media frame header codec (native/src/media/media_frame.c): the byte vectors of
 * test/media-frame.test.ts (the TypeScript codec, lib/wire/media.ts), written in C, so the
 * two sides agree byte for byte; round trips; the 16-bit sequence wrap.
 */
#include "check.h"
#include "media/media_frame.h"

/* "10 00 0007" -> bytes; returns the count. Spaces are skipped. */
static size_t hex(const char *s, uint8_t *out, size_t cap) {
  size_t n = 0;
  int hi = -1;
  for (; *s; s++) {
    int v;
    if (*s >= '0' && *s <= '9') v = *s - '0';
    else if (*s >= 'a' && *s <= 'f') v = *s - 'a' + 10;
    else continue;
    if (hi < 0) {
      hi = v;
    } else {
      CHECK(n < cap);
      out[n++] = (uint8_t)(hi << 4 | v);
      hi = -1;
    }
  }
  CHECK(hi < 0);
  return n;
}

static void test_known_bytes(void) {
  static const struct {
    const char *name, *bytes;
    struct cv_media_header header;
    const char *payload;
  } cases[] = {
      {"audio, Opus TOC 0x78 and two payload bytes", "10 00 0007 0001 000003c0 ff 00 78 ab cd",
       {CV_MEDIA_KIND_AUDIO, 0, 7, 1, 960, 0xff}, "78 ab cd"},
      {"audio DTX with marker, sequence and timestamp at their maxima", "10 05 ffff ffff ffffffff 7f 00 f8",
       {CV_MEDIA_KIND_AUDIO, CV_MEDIA_FLAG_MARKER | CV_MEDIA_FLAG_DTX, 65535, 65535, 0xffffffffu, 127}, "f8"},
      {"video keyframe, last packet of its frame, empty payload", "11 03 0002 1234 00015f90 00 00",
       {CV_MEDIA_KIND_VIDEO, CV_MEDIA_FLAG_MARKER | CV_MEDIA_FLAG_KEYFRAME, 2, 0x1234, 90000, 0}, ""},
      {"unknown flag bits and a non-zero reserved byte are carried", "10 f0 0001 0000 00000000 00 ee 01",
       {CV_MEDIA_KIND_AUDIO, 0xf0, 1, 0, 0, 0}, "01"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t bytes[64], payload[64], again[64];
    size_t n = hex(cases[i].bytes, bytes, sizeof bytes);
    size_t pn = hex(cases[i].payload, payload, sizeof payload);
    struct cv_media_frame f;
    int rc = cv_media_frame_decode(bytes, n, &f);
    if (rc != CV_MEDIA_OK) CHECK_FAIL_("%s: %s", cases[i].name, cv_media_status_str(rc));
    const struct cv_media_header *e = &cases[i].header;
    CHECK_EQ(e->kind, f.header.kind);
    CHECK_EQ(e->flags, f.header.flags);
    CHECK_EQ(e->track, f.header.track);
    CHECK_EQ(e->sequence, f.header.sequence);
    CHECK_EQ(e->timestamp, f.header.timestamp);
    CHECK_EQ(e->audio_level, f.header.audio_level);
    CHECK_EQ(pn, f.payload_len);
    CHECK(f.payload == bytes + CV_MEDIA_HEADER_BYTES); /* a view, not a copy */
    CHECK(pn == 0 || memcmp(payload, f.payload, pn) == 0);
    CHECK_EQ(e->track, cv_media_track_of(bytes, n));
    size_t m = 0;
    CHECK_EQ(CV_MEDIA_OK, cv_media_frame_encode(e, f.payload, f.payload_len, again, sizeof again, &m));
    CHECK_EQ(n, m);
    if (bytes[11] == 0) {
      CHECK(memcmp(bytes, again, n) == 0);
    } else {
      CHECK_EQ(0, again[11]); /* reserved: sent 0 */
      CHECK(memcmp(bytes, again, 11) == 0 && memcmp(bytes + 12, again + 12, n - 12) == 0);
    }
  }
}

static uint8_t g_big[CV_MEDIA_MAX_FRAME_BYTES + 1];

static void check_refused(const char *name, const uint8_t *bytes, size_t n, int problem) {
  struct cv_media_frame f;
  memset(&f, 0xab, sizeof f);
  int rc = cv_media_frame_decode(bytes, n, &f);
  if (rc != problem) CHECK_FAIL_("%s: expected %s, got %s", name, cv_media_status_str(problem), cv_media_status_str(rc));
  CHECK_NULL(f.payload);
  CHECK_EQ(0, f.payload_len);
  CHECK_EQ(0, f.header.track);
  CHECK(strlen(cv_media_status_str(rc)) > 0);
}

static void test_malformed(void) {
  static const struct {
    const char *name, *bytes;
    int problem;
  } cases[] = {
      {"empty", "", CV_MEDIA_ERR_SHORT},
      {"one byte", "10", CV_MEDIA_ERR_SHORT},
      {"header less one byte", "10 00 0001 0000 00000000 00", CV_MEDIA_ERR_SHORT},
      {"version 0", "00 00 0001 0000 00000000 00 00", CV_MEDIA_ERR_VERSION},
      {"version 2", "20 00 0001 0000 00000000 00 00", CV_MEDIA_ERR_VERSION},
      {"kind 2", "12 00 0001 0000 00000000 00 00", CV_MEDIA_ERR_KIND},
      {"kind 15", "1f 00 0001 0000 00000000 00 00", CV_MEDIA_ERR_KIND},
      {"track 0", "10 00 0000 0000 00000000 00 00", CV_MEDIA_ERR_TRACK},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t bytes[32];
    size_t n = hex(cases[i].bytes, bytes, sizeof bytes);
    /* exactly n bytes on the heap: ASan / valgrind catch any read past them */
    uint8_t *exact = malloc(n ? n : 1);
    CHECK_NOT_NULL(exact);
    memcpy(exact, bytes, n);
    check_refused(cases[i].name, exact, n, cases[i].problem);
    free(exact);
  }
  const char *json = "{\"type\":\"signal\",\"id\":1}"; /* JSON text sent as binary */
  check_refused("JSON as binary", (const uint8_t *)json, strlen(json), CV_MEDIA_ERR_VERSION);

  /* payload limits: exactly the limit decodes, one byte over is refused */
  size_t hn = hex("10 00 0001 0000 00000000 00 00", g_big, sizeof g_big);
  CHECK_EQ(CV_MEDIA_HEADER_BYTES, hn);
  struct cv_media_frame f;
  CHECK_EQ(CV_MEDIA_OK, cv_media_frame_decode(g_big, CV_MEDIA_MAX_FRAME_BYTES, &f));
  CHECK_EQ(CV_MEDIA_MAX_PAYLOAD_BYTES, f.payload_len);
  check_refused("payload one byte over", g_big, CV_MEDIA_MAX_FRAME_BYTES + 1, CV_MEDIA_ERR_OVERSIZE);

  /* NULL arguments */
  CHECK_EQ(CV_MEDIA_ERR_ARG, cv_media_frame_decode(g_big, 20, NULL));
  CHECK_EQ(CV_MEDIA_ERR_ARG, cv_media_frame_decode(NULL, 20, &f));
  CHECK_EQ(CV_MEDIA_ERR_SHORT, cv_media_frame_decode(NULL, 0, &f));
  CHECK_EQ(0, cv_media_track_of(NULL, 0));
  CHECK_EQ(0, cv_media_track_of(g_big, 11));
}

static void test_view_at_offset(void) {
  uint8_t big[64] = {0};
  hex("10 00 0009 0002 00000780 30 00 aa", big + 20, sizeof big - 20);
  struct cv_media_frame f;
  CHECK_EQ(CV_MEDIA_OK, cv_media_frame_decode(big + 20, 13, &f));
  CHECK_EQ(9, f.header.track);
  CHECK_EQ(2, f.header.sequence);
  CHECK_EQ(1920, f.header.timestamp);
  CHECK_EQ(0x30, f.header.audio_level);
  CHECK_EQ(1, f.payload_len);
  CHECK_EQ(0xaa, f.payload[0]);
}

static void test_random_bytes(void) {
  unsigned seed = 1;
  for (int i = 0; i < 20000; i++) {
    size_t n = (seed = seed * 1103515245u + 12345u) >> 16 & 31;
    uint8_t *b = malloc(n ? n : 1);
    CHECK_NOT_NULL(b);
    for (size_t j = 0; j < n; j++) b[j] = (uint8_t)((seed = seed * 1103515245u + 12345u) >> 16);
    if (i % 3 == 0 && n > 0) b[0] = (uint8_t)(0x10 | (b[0] & 1)); /* reach the later checks too */
    struct cv_media_frame f;
    int rc = cv_media_frame_decode(b, n, &f);
    if (rc == CV_MEDIA_OK) {
      CHECK(f.payload == b + CV_MEDIA_HEADER_BYTES && f.payload_len == n - CV_MEDIA_HEADER_BYTES);
      uint8_t again[64];
      size_t m;
      CHECK_EQ(CV_MEDIA_OK, cv_media_frame_encode(&f.header, f.payload, f.payload_len, again, sizeof again, &m));
      CHECK(m == n && memcmp(again, b, 11) == 0 && memcmp(again + 12, b + 12, n - 12) == 0);
    } else {
      CHECK(rc >= CV_MEDIA_ERR_OVERSIZE && rc <= CV_MEDIA_ERR_SHORT);
    }
    free(b);
  }
}

static void test_encode_refuses(void) {
  const struct cv_media_header ok = {CV_MEDIA_KIND_AUDIO, 0, 1, 0, 0, CV_MEDIA_AUDIO_LEVEL_SILENT};
  uint8_t out[CV_MEDIA_HEADER_BYTES + 4], p[4] = {1, 2, 3, 4};
  size_t n = 99;
  struct cv_media_header h = ok;
  h.track = 0;
  CHECK_EQ(CV_MEDIA_ERR_TRACK, cv_media_frame_encode(&h, p, 1, out, sizeof out, &n));
  CHECK_EQ(0, n);
  h = ok;
  h.kind = (enum cv_media_kind)2;
  CHECK_EQ(CV_MEDIA_ERR_KIND, cv_media_frame_encode(&h, p, 1, out, sizeof out, &n));
  CHECK_EQ(CV_MEDIA_ERR_OVERSIZE, cv_media_frame_encode(&ok, g_big, CV_MEDIA_MAX_PAYLOAD_BYTES + 1, g_big, sizeof g_big, &n));
  CHECK_EQ(CV_MEDIA_ERR_BUFFER, cv_media_frame_encode(&ok, p, 4, out, sizeof out - 1, &n));
  CHECK_EQ(CV_MEDIA_ERR_ARG, cv_media_frame_encode(&ok, NULL, 1, out, sizeof out, &n));
  CHECK_EQ(CV_MEDIA_ERR_ARG, cv_media_frame_encode(&ok, p, 1, out, sizeof out, NULL));
  CHECK_EQ(CV_MEDIA_OK, cv_media_frame_encode(&ok, NULL, 0, out, CV_MEDIA_HEADER_BYTES, &n));
  CHECK_EQ(CV_MEDIA_HEADER_BYTES, n);
  CHECK_EQ(CV_MEDIA_ERR_ARG, cv_media_header_write(NULL, out));
}

static void test_round_trip(void) {
  const struct cv_media_header h = {CV_MEDIA_KIND_AUDIO, CV_MEDIA_FLAG_MARKER, 300, 40000, 123456789u, 127};
  const uint8_t p[3] = {1, 2, 3};
  uint8_t out[32];
  size_t n;
  CHECK_EQ(CV_MEDIA_OK, cv_media_frame_encode(&h, p, 3, out, sizeof out, &n));
  CHECK_EQ(CV_MEDIA_HEADER_BYTES + 3, n);
  struct cv_media_frame f;
  CHECK_EQ(CV_MEDIA_OK, cv_media_frame_decode(out, n, &f));
  CHECK_EQ(300, f.header.track);
  CHECK_EQ(40000, f.header.sequence);
  CHECK_EQ(123456789, f.header.timestamp);
  CHECK_EQ(1, f.header.flags);
  CHECK_EQ(CV_MEDIA_KIND_AUDIO, f.header.kind);
  CHECK(memcmp(p, f.payload, 3) == 0);

  /* a stream of 20 ms audio frames across the 16-bit sequence and 32-bit timestamp wraps */
  struct cv_media_header s = {CV_MEDIA_KIND_AUDIO, 0, 7, 65530, 0xffffffffu - 960u * 3u, 60};
  uint16_t prev_seq = 0;
  uint32_t prev_ts = 0;
  for (int i = 0; i < 12; i++) {
    CHECK_EQ(CV_MEDIA_OK, cv_media_frame_encode(&s, p, 1, out, sizeof out, &n));
    CHECK_EQ(CV_MEDIA_OK, cv_media_frame_decode(out, n, &f));
    CHECK_EQ(s.sequence, f.header.sequence);
    CHECK_EQ(s.timestamp, f.header.timestamp);
    if (i > 0) {
      CHECK_EQ(1, cv_media_sequence_delta(f.header.sequence, prev_seq));
      CHECK_EQ(960u, (uint32_t)(f.header.timestamp - prev_ts));
    }
    prev_seq = f.header.sequence;
    prev_ts = f.header.timestamp;
    s.sequence++;
    s.timestamp += 960u;
  }
  CHECK_EQ(5, prev_seq); /* 65530 + 11 - 65536: wrapped */
  CHECK(prev_ts < 960u * 9u);    /* the timestamp wrapped too */
}

static void test_sequence_delta(void) {
  static const int cases[][3] = {{1, 0, 1},   {0, 65535, 1}, {65535, 0, -1},
                                 {100, 100, 0}, {32767, 0, 32767}, {32768, 0, -32768}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    CHECK_EQ(cases[i][2], cv_media_sequence_delta((uint16_t)cases[i][0], (uint16_t)cases[i][1]));
}

int main(void) {
  test_known_bytes();
  test_malformed();
  test_view_at_offset();
  test_random_bytes();
  test_encode_refuses();
  test_round_trip();
  test_sequence_delta();
  printf("test_media_frame: ok\n");
  return 0;
}

/*
 * Video frames <-> media packets (native/src/media/video_packets.c): balanced packets with the
 * keyframe and marker flags, reassembly byte for byte across sequence wrap, and the hostile
 * and lossy cases: a gap mid-frame, a frame never finished, duplicates and late packets, a
 * frame built to be too large, delta frames before a keyframe.
 */
#include "check.h"
#include "media/video_packets.h"

static uint8_t frame[100000];

struct sender {
  uint16_t seq;
  uint32_t ts;
};

/* Packetizes a frame of `len` bytes into hdr/payload arrays; returns the count. */
static size_t packetize(struct sender *s, size_t len, int key, size_t max, struct cv_media_header *h,
                        const uint8_t **p, size_t *pl) {
  size_t n = cv_video_packet_count(len, max);
  for (size_t i = 0; i < n; i++) {
    uint8_t flags;
    CHECK_EQ(0, cv_video_packet_at(frame, len, max, key, i, &p[i], &pl[i], &flags));
    h[i] = (struct cv_media_header){.kind = CV_MEDIA_KIND_VIDEO, .flags = flags, .track = 2, .sequence = s->seq++,
                                    .timestamp = s->ts};
  }
  s->ts += 3000;
  return n;
}

static int feed(cv_video_assembler *a, size_t n, const struct cv_media_header *h, const uint8_t **p, const size_t *pl,
                size_t *got_len, int *got_key) {
  int frames = 0;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *f;
    size_t fl;
    uint32_t ts;
    int key;
    int rc = cv_video_assembler_push(a, &h[i], p[i], pl[i], &f, &fl, &ts, &key);
    CHECK(rc >= 0);
    if (rc == CV_VIDEO_FRAME) {
      frames++;
      CHECK_EQ(0, memcmp(f, frame, fl));
      CHECK_EQ(h[i].timestamp, ts);
      *got_len = fl;
      *got_key = key;
    }
  }
  return frames;
}

static void test_packetizer(void) {
  CHECK_EQ(3, cv_video_packet_count(40000, 16384));
  CHECK_EQ(1, cv_video_packet_count(0, 16384));
  CHECK_EQ(0, cv_video_packet_count(10, 0));
  CHECK_EQ(0, cv_video_packet_count(10, 16385));
  size_t total = 0;
  for (size_t i = 0; i < 3; i++) {
    const uint8_t *p;
    size_t n;
    uint8_t flags;
    CHECK_EQ(0, cv_video_packet_at(frame, 40000, 16384, 1, i, &p, &n, &flags));
    CHECK(p == frame + total);
    CHECK(n == 13334 || n == 13333);
    CHECK_EQ(CV_MEDIA_FLAG_KEYFRAME | (i == 2 ? CV_MEDIA_FLAG_MARKER : 0), flags);
    total += n;
  }
  CHECK_EQ(40000, total);
  const uint8_t *p;
  size_t n;
  uint8_t flags;
  CHECK_EQ(-1, cv_video_packet_at(frame, 40000, 16384, 1, 3, &p, &n, &flags));
}

static void test_round_trip_and_wrap(void) {
  for (size_t i = 0; i < sizeof frame; i++) frame[i] = (uint8_t)(i * 31 + 7);
  cv_video_assembler *a;
  CHECK_EQ(0, cv_video_assembler_new(1 << 20, &a));
  CHECK(cv_video_assembler_waiting_keyframe(a));
  struct sender s = {.seq = 65530, .ts = 0xfffff000u};
  struct cv_media_header h[16];
  const uint8_t *p[16];
  size_t pl[16];
  size_t len;
  int key;
  size_t n = packetize(&s, 50000, 1, 16384, h, p, pl);
  CHECK_EQ(1, feed(a, n, h, p, pl, &len, &key));
  CHECK_EQ(50000, len);
  CHECK_EQ(1, key);
  CHECK(!cv_video_assembler_waiting_keyframe(a));
  for (int f = 0; f < 5; f++) { /* delta frames across the sequence wrap */
    n = packetize(&s, 20000 + (size_t)f, 0, 16384, h, p, pl);
    CHECK_EQ(1, feed(a, n, h, p, pl, &len, &key));
    CHECK_EQ(20000 + f, len);
    CHECK_EQ(0, key);
  }
  struct cv_video_assembler_stats st;
  cv_video_assembler_stats(a, &st);
  CHECK_EQ(6, st.frames);
  CHECK_EQ(1, st.keyframes);
  CHECK_EQ(0, st.lost + st.skipped + st.stale + st.oversize);
  cv_video_assembler_free(a);
}

static void test_loss(void) {
  cv_video_assembler *a;
  CHECK_EQ(0, cv_video_assembler_new(1 << 20, &a));
  struct sender s = {.seq = 100, .ts = 0};
  struct cv_media_header h[16];
  const uint8_t *p[16];
  size_t pl[16];
  size_t len;
  int key;
  /* delta frames before any keyframe: skipped */
  size_t n = packetize(&s, 30000, 0, 16384, h, p, pl);
  CHECK_EQ(0, feed(a, n, h, p, pl, &len, &key));
  n = packetize(&s, 30000, 1, 16384, h, p, pl);
  CHECK_EQ(1, feed(a, n, h, p, pl, &len, &key));
  /* a delta frame loses its middle packet: dropped, then the assembler waits for a keyframe */
  n = packetize(&s, 40000, 0, 16384, h, p, pl);
  CHECK_EQ(3, n);
  CHECK_EQ(0, feed(a, 1, h, p, pl, &len, &key));
  CHECK_EQ(0, feed(a, 1, h + 2, p + 2, pl + 2, &len, &key));
  CHECK(cv_video_assembler_waiting_keyframe(a));
  n = packetize(&s, 1000, 0, 16384, h, p, pl); /* a whole delta frame: still skipped */
  CHECK_EQ(0, feed(a, n, h, p, pl, &len, &key));
  n = packetize(&s, 30000, 1, 16384, h, p, pl);
  CHECK_EQ(1, feed(a, n, h, p, pl, &len, &key));
  /* a frame whose last packet never comes: the next timestamp ends it as lost */
  n = packetize(&s, 30000, 0, 16384, h, p, pl);
  CHECK_EQ(0, feed(a, 1, h, p, pl, &len, &key));
  s.seq--; /* the sender's next packet follows the one we fed (the marker packet was never sent) */
  n = packetize(&s, 30000, 1, 16384, h, p, pl);
  CHECK_EQ(1, feed(a, n, h, p, pl, &len, &key));
  /* duplicates and late packets are ignored */
  CHECK_EQ(0, feed(a, n, h, p, pl, &len, &key));
  struct cv_video_assembler_stats st;
  cv_video_assembler_stats(a, &st);
  CHECK_EQ(3, st.frames);
  CHECK_EQ(2, st.lost);
  CHECK_EQ(n, st.stale);
  CHECK(st.skipped >= 3);
  cv_video_assembler_free(a);
}

/* One packet with a sequence number far from the stream's (a buggy or hostile sender) must not
 * make every later packet look stale: the assembler resynchronises and resumes at the next
 * keyframe (before the fix, the stream stayed "stale" for 32768 packets). */
static void test_sequence_resync(void) {
  cv_video_assembler *a;
  CHECK_EQ(0, cv_video_assembler_new(1 << 20, &a));
  struct sender s = {.seq = 1000, .ts = 0};
  struct cv_media_header h[16];
  const uint8_t *p[16];
  size_t pl[16];
  size_t len;
  int key;
  size_t n = packetize(&s, 20000, 1, 16384, h, p, pl);
  CHECK_EQ(1, feed(a, n, h, p, pl, &len, &key));
  struct sender rogue = {.seq = (uint16_t)(s.seq + 20000), .ts = 12345};
  n = packetize(&rogue, 100, 1, 16384, h, p, pl); /* 20000 ahead */
  feed(a, n, h, p, pl, &len, &key);
  n = packetize(&s, 1000, 0, 16384, h, p, pl); /* the real stream goes on: a delta frame, skipped */
  CHECK_EQ(0, feed(a, n, h, p, pl, &len, &key));
  n = packetize(&s, 20000, 1, 16384, h, p, pl); /* its next keyframe comes out */
  CHECK_EQ(1, feed(a, n, h, p, pl, &len, &key));
  CHECK_EQ(1, key);
  n = packetize(&s, 1000, 0, 16384, h, p, pl); /* and the deltas after it */
  CHECK_EQ(1, feed(a, n, h, p, pl, &len, &key));
  cv_video_assembler_free(a);
}

static void test_oversize_and_args(void) {
  cv_video_assembler *a;
  CHECK_EQ(0, cv_video_assembler_new(40000, &a));
  struct sender s = {.seq = 1, .ts = 0};
  struct cv_media_header h[16];
  const uint8_t *p[16];
  size_t pl[16];
  size_t len;
  int key;
  size_t n = packetize(&s, 60000, 1, 16384, h, p, pl); /* built to be too large */
  CHECK_EQ(0, feed(a, n, h, p, pl, &len, &key));
  n = packetize(&s, 39000, 1, 16384, h, p, pl);
  CHECK_EQ(1, feed(a, n, h, p, pl, &len, &key));
  struct cv_video_assembler_stats st;
  cv_video_assembler_stats(a, &st);
  CHECK_EQ(1, st.oversize);
  const uint8_t *f;
  size_t fl;
  struct cv_media_header audio = {.kind = CV_MEDIA_KIND_AUDIO, .track = 1};
  CHECK_EQ(CV_VIDEO_ERR_ARG, cv_video_assembler_push(a, &audio, frame, 10, &f, &fl, NULL, NULL));
  CHECK_EQ(CV_VIDEO_ERR_ARG, cv_video_assembler_push(a, &h[0], NULL, 10, &f, &fl, NULL, NULL));
  cv_video_assembler_free(a);
  CHECK_EQ(CV_VIDEO_ERR_ARG, cv_video_assembler_new(0, &a));
  CHECK_NULL(a);
  cv_video_assembler_free(NULL);
}

int main(void) {
  test_packetizer();
  test_round_trip_and_wrap();
  test_loss();
  test_sequence_resync();
  test_oversize_and_args();
  printf("test_video_packets: ok\n");
  return 0;
}

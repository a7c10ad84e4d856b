/* Subscribers and the media additions of convene.h (api layer). STUB: the headers first
 * (issue 17); the implementation follows. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct otc_subscriber {
  otc_stream *stream;
  struct otc_subscriber_callbacks cb;
};

otc_subscriber *otc_subscriber_new(const otc_stream *stream, const struct otc_subscriber_callbacks *callbacks) {
  if (!stream || !callbacks) return NULL;
  otc_subscriber *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->stream = otc_stream_copy(stream);
  s->cb = *callbacks;
  return s;
}
otc_status otc_subscriber_delete(otc_subscriber *s) {
  if (!s) return OTC_INVALID_PARAM;
  otc_stream_delete(s->stream);
  free(s);
  return OTC_SUCCESS;
}
otc_stream *otc_subscriber_get_stream(const otc_subscriber *s) { return s ? s->stream : NULL; }
otc_status otc_subscriber_set_subscribe_to_video(otc_subscriber *s, otc_bool v) { (void)v; return s ? OTC_SUCCESS : OTC_INVALID_PARAM; }
otc_status otc_subscriber_set_subscribe_to_audio(otc_subscriber *s, otc_bool v) { (void)v; return s ? OTC_SUCCESS : OTC_INVALID_PARAM; }
otc_bool otc_subscriber_get_subscribe_to_video(const otc_subscriber *s) { (void)s; return OTC_FALSE; }
otc_bool otc_subscriber_get_subscribe_to_audio(const otc_subscriber *s) { (void)s; return OTC_FALSE; }
otc_session *otc_subscriber_get_session(const otc_subscriber *s) { (void)s; return NULL; }
const char *otc_subscriber_get_subscriber_id(const otc_subscriber *s) { (void)s; return NULL; }
void *otc_subscriber_get_user_data(const otc_subscriber *s) { return s ? s->cb.user_data : NULL; }
otc_status otc_session_subscribe(otc_session *s, otc_subscriber *sub) { (void)s; (void)sub; return OTC_SESSION_SUBSCRIBER_NOT_FOUND; }
otc_status otc_session_unsubscribe(otc_session *s, otc_subscriber *sub) { (void)s; (void)sub; return OTC_SESSION_SUBSCRIBER_NOT_FOUND; }
otc_status convene_subscriber_set_audio_format(otc_subscriber *s, int r, int c, int f) { (void)s; (void)r; (void)c; (void)f; return OTC_ILLEGAL_STATE; }
otc_status convene_subscriber_get_media_stats(const otc_subscriber *s, struct convene_media_stats *o) { (void)s; (void)o; return OTC_ILLEGAL_STATE; }
otc_status convene_publisher_set_audio_source(otc_publisher *p, int c) { (void)p; (void)c; return OTC_ILLEGAL_STATE; }
otc_status convene_publisher_write_audio(otc_publisher *p, const int16_t *x, size_t n, int r, int c) { (void)p; (void)x; (void)n; (void)r; (void)c; return OTC_ILLEGAL_STATE; }
otc_status convene_publisher_clear_audio(otc_publisher *p) { (void)p; return OTC_ILLEGAL_STATE; }
int convene_publisher_get_queued_audio_ms(const otc_publisher *p) { return p ? 0 : -1; }
otc_status convene_publisher_set_on_audio_space(otc_publisher *p, convene_audio_space_cb cb, void *u) { (void)p; (void)cb; (void)u; return OTC_ILLEGAL_STATE; }
otc_status convene_publisher_get_media_stats(const otc_publisher *p, struct convene_media_stats *o) { (void)p; (void)o; return OTC_ILLEGAL_STATE; }
size_t otc_audio_device_read_render_data(int16_t *b, size_t n) { (void)b; (void)n; return 0; }
otc_status otc_audio_device_write_capture_data(const int16_t *b, size_t n) { (void)b; (void)n; return OTC_ILLEGAL_STATE; }
otc_status otc_set_audio_device(const struct otc_audio_device_callbacks *cb) { (void)cb; return OTC_ILLEGAL_STATE; }

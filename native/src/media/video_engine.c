/* The video half of the media engine (issue 18): see video_engine.h. */
int cv_video_engine_placeholder(void);
int cv_video_engine_placeholder(void) { return 0; }

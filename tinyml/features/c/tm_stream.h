/* Streaming MFCC front-end: one frame per hop into a ring of the model's frames.
 *
 * The batch front-end (fe_mfcc) recomputes every frame of a 1 s window for each inference;
 * this one keeps the last FE_MFCC_WINDOW - FE_MFCC_STRIDE samples (10 ms) plus the hop
 * arriving (20 ms), computes that frame with fe_mfcc_frame() when the hop is complete, and
 * writes it over the oldest of the FE_MFCC_FRAMES frames in the ring. When the first frame
 * starts at the clip's first sample, the window tm_stream_window() gives after frame n is,
 * byte for byte, fe_mfcc() of the FE_MFCC_CLIP samples ending where that frame ends.
 *
 * Freestanding C99, no malloc: the state is the caller's struct, the buffers the caller's
 * arrays (sizes from the spec: FE_MFCC_WINDOW int16 of audio, FE_MFCC_FRAMES x FE_MFCC_COEFFS
 * int8 of ring), the work buffer fe_mfcc()'s (2 * FE_MFCC_FFT + FE_MFCC_BANDS floats), which
 * is free again between hops. */
#ifndef TM_STREAM_H
#define TM_STREAM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int16_t *audio;  /* FE_MFCC_WINDOW samples: the kept 10 ms, then the hop arriving */
    int8_t *ring;    /* FE_MFCC_FRAMES x FE_MFCC_COEFFS int8: the newest frames */
    uint32_t filled; /* samples in audio */
    uint32_t head;   /* byte offset in ring of the next frame (the oldest one once full) */
    uint32_t frames; /* frames computed since tm_stream_init() */
} tm_stream_t;

/* Starts a stream (empty audio, empty ring) on the caller's buffers. */
void tm_stream_init(tm_stream_t *s, int16_t *audio, int8_t *ring);

/* Where the next samples go, and how many complete the frame in progress (*room >= 1): a
 * sensor can read straight into it. */
int16_t *tm_stream_space(const tm_stream_t *s, uint32_t *room);

/* Takes `count` (<= room) samples written at tm_stream_space(); computes the frame once the
 * window is complete. Returns 1 when a new frame went into the ring, 0 otherwise. */
int tm_stream_commit(tm_stream_t *s, uint32_t count, float *work);

/* Copies up to `count` samples in, stopping right after a frame completes; returns how many
 * it took (the caller pushes the rest after looking at the new frame). */
uint32_t tm_stream_push(tm_stream_t *s, const int16_t *samples, uint32_t count, float *work);

/* 1 once the ring holds FE_MFCC_FRAMES frames: the model's window is complete. */
int tm_stream_full(const tm_stream_t *s);

/* The ring in time order, oldest frame first, then fe_mfcc_normalize(): FE_MFCC_FRAMES x
 * FE_MFCC_COEFFS int8, the model's input. */
void tm_stream_window(const tm_stream_t *s, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif

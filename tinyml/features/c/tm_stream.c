/* Streaming MFCC front-end: see tm_stream.h. */
#include "tm_stream.h"

#include "tm_frontend.h"
#include "tm_frontend_tables.h"

#define RING_BYTES ((uint32_t)FE_MFCC_FRAMES * FE_MFCC_COEFFS)
#define KEEP ((uint32_t)(FE_MFCC_WINDOW - FE_MFCC_STRIDE))

void tm_stream_init(tm_stream_t *s, int16_t *audio, int8_t *ring)
{
    uint32_t i;
    s->audio = audio;
    s->ring = ring;
    s->filled = 0u;
    s->head = 0u;
    s->frames = 0u;
    for (i = 0; i < RING_BYTES; ++i) {
        ring[i] = 0;
    }
}

int16_t *tm_stream_space(const tm_stream_t *s, uint32_t *room)
{
    *room = (uint32_t)FE_MFCC_WINDOW - s->filled;
    return s->audio + s->filled;
}

int tm_stream_commit(tm_stream_t *s, uint32_t count, float *work)
{
    uint32_t i;
    s->filled += count;
    if (s->filled < (uint32_t)FE_MFCC_WINDOW) {
        return 0;
    }
    fe_mfcc_frame(s->audio, s->ring + s->head, work);
    s->head = s->head + FE_MFCC_COEFFS == RING_BYTES ? 0u : s->head + FE_MFCC_COEFFS;
    ++s->frames;
    for (i = 0; i < KEEP; ++i) { /* the next frame starts one stride on */
        s->audio[i] = s->audio[i + FE_MFCC_STRIDE];
    }
    s->filled = KEEP;
    return 1;
}

uint32_t tm_stream_push(tm_stream_t *s, const int16_t *samples, uint32_t count, float *work)
{
    uint32_t room, i;
    int16_t *dst = tm_stream_space(s, &room);
    const uint32_t take = count < room ? count : room;
    for (i = 0; i < take; ++i) {
        dst[i] = samples[i];
    }
    tm_stream_commit(s, take, work);
    return take;
}

int tm_stream_full(const tm_stream_t *s)
{
    return s->frames >= (uint32_t)FE_MFCC_FRAMES;
}

void tm_stream_window(const tm_stream_t *s, int8_t *out)
{
    const uint32_t older = RING_BYTES - s->head; /* from the oldest frame to the ring's end */
    uint32_t i;
    for (i = 0; i < older; ++i) {
        out[i] = s->ring[s->head + i];
    }
    for (i = 0; i < s->head; ++i) {
        out[older + i] = s->ring[i];
    }
    fe_mfcc_normalize(out);
}

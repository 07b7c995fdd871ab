/* Keyword detection over time: which model outputs become a DETECT, the same on the host
 * (tinyml/stream/detect.py) and the device.
 *
 * The model runs every `every` hops once the feature window is full. Each class's level is its
 * int8 output minus the zero point; the score is the sum of the last `average` levels (levels
 * before the first inference count as 0). A class fires when its score reaches its threshold
 * (the class with the highest score among those that do, the lowest index on a tie), and then
 * nothing fires again until `refractory` hops have passed. Integers only: the host and the
 * device cannot round differently.
 *
 * Freestanding C99, no malloc: thresholds, history (average x classes) and sums (classes) are
 * the caller's arrays. */
#ifndef TM_DETECT_H
#define TM_DETECT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TM_DETECT_NEVER INT32_MAX /* the threshold of a class that never fires (_silence_) */

typedef struct {
    uint32_t classes;
    uint32_t average;          /* inferences in the score */
    uint32_t every;            /* hops between inferences */
    uint32_t window_frames;    /* frames in the model's window: the first inference's hop */
    uint32_t refractory;       /* hops after a detection in which nothing fires */
    int32_t zero_point;        /* of the model's output */
    const int32_t *thresholds; /* per class, on the score (0 .. 255 x average) */
    int16_t *history;          /* average x classes levels, oldest overwritten */
    int32_t *sums;             /* per class: the score */
    uint32_t slot;             /* history row of the next inference */
    uint32_t last_hop;         /* hop of the last detection */
    int detected;              /* 1 once anything fired */
} tm_detect_t;

/* Starts detection; history and sums are zeroed. The fields before `history` are set by the
 * caller; this sets the rest. */
void tm_detect_init(tm_detect_t *d, int16_t *history, int32_t *sums);

/* 1 when the model is due after hop `hops` (frames computed since the stream began). */
int tm_detect_due(const tm_detect_t *d, uint32_t hops);

/* Takes one inference's int8 outputs after hop `hops`; returns the class that fires, or -1.
 * The firing class's score is then d->sums[class]. */
int tm_detect_step(tm_detect_t *d, const int8_t *output, uint32_t hops);

#ifdef __cplusplus
}
#endif

#endif

/* Keyword detection over time: see tm_detect.h. */
#include "tm_detect.h"

void tm_detect_init(tm_detect_t *d, int16_t *history, int32_t *sums)
{
    uint32_t i;
    d->history = history;
    d->sums = sums;
    for (i = 0; i < d->average * d->classes; ++i) {
        history[i] = 0;
    }
    for (i = 0; i < d->classes; ++i) {
        sums[i] = 0;
    }
    d->slot = 0u;
    d->last_hop = 0u;
    d->detected = 0;
}

int tm_detect_due(const tm_detect_t *d, uint32_t hops)
{
    return hops >= d->window_frames && (hops - d->window_frames) % d->every == 0u;
}

int tm_detect_step(tm_detect_t *d, const int8_t *output, uint32_t hops)
{
    int16_t *row = d->history + d->slot * d->classes;
    uint32_t c;
    int best = -1;
    for (c = 0; c < d->classes; ++c) {
        const int16_t level = (int16_t)((int32_t)output[c] - d->zero_point);
        d->sums[c] += (int32_t)level - (int32_t)row[c];
        row[c] = level;
    }
    d->slot = d->slot + 1u == d->average ? 0u : d->slot + 1u;
    if (d->detected && hops - d->last_hop < d->refractory) {
        return -1;
    }
    for (c = 0; c < d->classes; ++c) {
        if (d->thresholds[c] != TM_DETECT_NEVER && d->sums[c] >= d->thresholds[c] &&
            (best < 0 || d->sums[c] > d->sums[best])) {
            best = (int)c;
        }
    }
    if (best >= 0) {
        d->detected = 1;
        d->last_hop = hops;
    }
    return best;
}

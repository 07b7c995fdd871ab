/* Row bands (`tinyml compile --optimize memory`): a run of row-local operators computed a few
 * rows at a time, so the tensors between them are buffers of a few rows, never whole. The
 * generated code replays a schedule made at compile time (tinyml/compile/bands.py); these are
 * the two steps it takes: call a kernel on a band of rows, and drop the rows no longer needed.
 * Header only, included by a model's C only when it has bands. */
#ifndef TM_BAND_H
#define TM_BAND_H

#include <stdint.h>

#include "tm_math.h"

/* Output rows [lo, hi) of an operator that reads rows [lo * stride - pad, (hi - 1) * stride -
 * pad + extent) of its input, clipped to the input. On entry *in_h and *pad_h are the whole
 * tensor's; on return they and *out_h describe the band to the kernel, whose input then starts
 * at the returned row (the padding stays where the tensor's edges are). */
TM_INLINE int32_t tm_band_rows(int16_t lo, int16_t hi, uint8_t extent, uint8_t stride, int16_t *in_h,
                               uint8_t *pad_h, int16_t *out_h)
{
    const int32_t top = (int32_t)lo * stride - *pad_h;
    const int32_t first = top > 0 ? top : 0;
    const int32_t stop = (int32_t)(hi - 1) * stride - *pad_h + extent;
    *pad_h = (uint8_t)(first - top);
    *in_h = (int16_t)((stop < *in_h ? stop : *in_h) - first);
    *out_h = (int16_t)(hi - lo);
    return first;
}

/* A band buffer holds rows [from, held) of its tensor from its start; rows below `to` are no
 * longer needed: rows [to, held) move to the start, which holds row `to` from now on. One copy
 * of the loop for every buffer (every band has one). */
static TM_NOINLINE void tm_band_slide(int8_t *buffer, int32_t row_bytes, int16_t from, int16_t to, int16_t held)
{
    if (to > from && held > to) {
        (void)tm_copy_s8(buffer, buffer + (int32_t)(to - from) * row_bytes, (int32_t)(held - to) * row_bytes);
    }
}

#endif

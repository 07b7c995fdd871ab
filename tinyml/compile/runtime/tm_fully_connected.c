/* FULLY_CONNECTED, int8. The input and filter offsets are folded into the bias at compile
 * time, so each output is an int8 dot product, the bias, and one requantization. */
#include "tm_kernels.h"
#include "tm_math.h"
#include "tm_simd.h"

#if defined(TM_SIMD)
static int32_t dot(const int8_t *x, const int8_t *w, int n, int32_t filter_offset)
{
    int32_t acc = 0, xsum = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const int32_t xv = tm_load32(x + i);
        const int32_t wv = tm_load32(w + i);
        acc = __smlad(__sxtb16(xv), __sxtb16(wv), acc);
        acc = __smlad(tm_sxtb16_odd(xv), tm_sxtb16_odd(wv), acc);
    }
    for (; i < n; ++i) {
        acc += (int32_t)x[i] * w[i];
    }
    if (filter_offset != 0) {
        for (i = 0; i < n; ++i) {
            xsum += x[i];
        }
    }
    return acc + xsum * filter_offset;
}
#else
static int32_t dot(const int8_t *x, const int8_t *w, int n, int32_t filter_offset)
{
    int32_t acc = 0;
    int i;
    for (i = 0; i < n; ++i) {
        acc += (int32_t)x[i] * ((int32_t)TM_W8(&w[i]) + filter_offset);
    }
    return acc;
}
#endif

void tm_fully_connected_s8(const tm_fc_params_t *p, const tm_requant_t *q, const int8_t *input,
                           const int8_t *filter, const int32_t *bias, int8_t *output)
{
    int b, o;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = input + (int32_t)b * p->in_depth;
        for (o = 0; o < p->out_depth; ++o) {
            const int ch = p->per_channel ? o : 0;
            int32_t acc = dot(x, filter + (int32_t)o * p->in_depth, p->in_depth, p->filter_offset);
            acc += TM_W32(&bias[o]);
            acc = tm_requantize(acc, TM_W32(&q->multiplier[ch]), TM_W8(&q->shift[ch])) + p->output_offset;
            output[(int32_t)b * p->out_depth + o] = tm_clamp_s8(acc, p->act_min, p->act_max);
        }
    }
}

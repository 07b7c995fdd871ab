/* FULLY_CONNECTED, int8. The input and filter offsets are folded into the bias at compile
 * time, so each output is an int8 dot product, the bias, and one requantization. */
#include "tm_kernels.h"
#include "tm_math.h"
#include "tm_simd.h"

#if defined(TM_SIMD)
/* Rows w0 and w1 (w1 may be w0) against x: each input word is widened once for both rows,
 * 8 MACs for 3 loads, 6 SXTB16 and 4 SMLAD. */
static void dot2(const int8_t *x, const int8_t *w0, const int8_t *w1, int n,
                 int32_t filter_offset, int32_t *out0, int32_t *out1)
{
    int32_t a0 = 0, a1 = 0, xsum = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const int32_t xv = tm_load32(x + i);
        const int32_t xe = __sxtb16(xv), xo = tm_sxtb16_odd(xv);
        const int32_t v0 = tm_load32(w0 + i), v1 = tm_load32(w1 + i);
        a0 = __smlad(xe, __sxtb16(v0), a0);
        a0 = __smlad(xo, tm_sxtb16_odd(v0), a0);
        a1 = __smlad(xe, __sxtb16(v1), a1);
        a1 = __smlad(xo, tm_sxtb16_odd(v1), a1);
    }
    for (; i < n; ++i) {
        a0 += (int32_t)x[i] * w0[i];
        a1 += (int32_t)x[i] * w1[i];
    }
    if (filter_offset != 0) {
        for (i = 0; i < n; ++i) {
            xsum += x[i];
        }
    }
    *out0 = a0 + xsum * filter_offset;
    *out1 = a1 + xsum * filter_offset;
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

/* Bias, requantization, output offset and clamp of output o. */
static int8_t output_of(const tm_fc_params_t *p, const tm_requant_t *q, const int32_t *bias,
                        int o, int32_t acc)
{
    const int ch = p->per_channel ? o : 0;
    acc += TM_W32(&bias[o]);
    acc = tm_requantize(acc, TM_W32(&q->multiplier[ch]), TM_W8(&q->shift[ch])) + p->output_offset;
    return tm_clamp_s8(acc, p->act_min, p->act_max);
}

void tm_fully_connected_s8(const tm_fc_params_t *p, const tm_requant_t *q, const int8_t *input,
                           const int8_t *filter, const int32_t *bias, int8_t *output)
{
    const int n = p->in_depth;
    int b, o;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = input + (int32_t)b * n;
        int8_t *out = output + (int32_t)b * p->out_depth;
#if defined(TM_SIMD)
        for (o = 0; o < p->out_depth; o += 2) { /* rows in pairs; an odd last row pairs itself */
            const int8_t *w0 = filter + (int32_t)o * n;
            const int last = o + 1 == p->out_depth;
            int32_t a0, a1;
            dot2(x, w0, last ? w0 : w0 + n, n, p->filter_offset, &a0, &a1);
            out[o] = output_of(p, q, bias, o, a0);
            if (!last) {
                out[o + 1] = output_of(p, q, bias, o + 1, a1);
            }
        }
#else
        for (o = 0; o < p->out_depth; ++o) {
            out[o] = output_of(p, q, bias, o, dot(x, filter + (int32_t)o * n, n, p->filter_offset));
        }
#endif
    }
}

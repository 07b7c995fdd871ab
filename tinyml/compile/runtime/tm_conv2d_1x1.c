/* CONV_2D with a 1x1 filter, stride 1, no padding: a matrix product per pixel.
 *
 * The input offset is folded into the bias at compile time (bias += input_offset * sum(w)),
 * so the inner loop is a plain int8 dot product. Outputs of one pixel go to scratch first,
 * so output may overwrite input in place: pixels run forwards when out_c <= in_c and
 * backwards otherwise, so no pixel is overwritten before it is read. */
#include "tm_kernels.h"
#include "tm_math.h"

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_ACLE)
#include <arm_acle.h>
#include <string.h>

/* Four int8 lanes of x and w at a time: sign-extend pairs to int16 and multiply-accumulate
 * two products per instruction. Same sums as the portable loop, in another order. */
static int32_t dot_s8(const int8_t *x, const int8_t *w, int n)
{
    int32_t acc = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        int32_t xv, wv;
        memcpy(&xv, x + i, 4);
        memcpy(&wv, w + i, 4);
        acc = __smlad(__sxtb16(xv), __sxtb16(wv), acc);
        acc = __smlad(__sxtb16(__ror(xv, 8)), __sxtb16(__ror(wv, 8)), acc);
    }
    for (; i < n; ++i) {
        acc += (int32_t)x[i] * TM_W8(&w[i]);
    }
    return acc;
}
#else
static int32_t dot_s8(const int8_t *x, const int8_t *w, int n)
{
    int32_t acc = 0;
    int i;
    for (i = 0; i < n; ++i) {
        acc += (int32_t)x[i] * TM_W8(&w[i]);
    }
    return acc;
}
#endif

static void one_pixel(const tm_conv_params_t *p, const tm_requant_t *q, const int8_t *x,
                      const int8_t *filter, const int32_t *bias, int8_t *out)
{
    int oc;
    for (oc = 0; oc < p->out_c; ++oc) {
        int32_t acc = dot_s8(x, filter + (int32_t)oc * p->in_c, p->in_c) + TM_W32(&bias[oc]);
        acc = tm_requantize(acc, TM_W32(&q->multiplier[oc]), TM_W8(&q->shift[oc])) + p->output_offset;
        out[oc] = tm_clamp_s8(acc, p->act_min, p->act_max);
    }
}

void tm_conv2d_1x1_s8(const tm_conv_params_t *p, const tm_requant_t *q, const int8_t *input,
                      const int8_t *filter, const int32_t *bias, int8_t *output, int8_t *scratch)
{
    const int32_t pixels = (int32_t)p->out_h * p->out_w;
    int32_t i;
    int c;
    if (p->out_c <= p->in_c) {
        for (i = 0; i < pixels; ++i) {
            one_pixel(p, q, input + i * p->in_c, filter, bias, scratch);
            for (c = 0; c < p->out_c; ++c) {
                output[i * p->out_c + c] = scratch[c];
            }
        }
    } else {
        for (i = pixels - 1; i >= 0; --i) {
            one_pixel(p, q, input + i * p->in_c, filter, bias, scratch);
            for (c = 0; c < p->out_c; ++c) {
                output[i * p->out_c + c] = scratch[c];
            }
        }
    }
}

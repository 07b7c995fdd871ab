/* CONV_2D with a 1x1 filter, stride 1, no padding: a matrix product per pixel.
 *
 * The input offset is folded into the bias at compile time (bias += input_offset * sum(w)),
 * so each output is a plain int8 dot product. Outputs go to scratch before they are stored,
 * so output may overwrite input in place: pixels run forwards when out_c <= in_c and
 * backwards otherwise, and no pixel is overwritten before it is read.
 * The SIMD path takes two pixels at a time, widened to int16 in scratch, so every weight
 * word is loaded and widened once for two pixels. */
#include "tm_kernels.h"
#include "tm_math.h"
#include "tm_simd.h"

/* Requantization constants of one call, copied out of the params struct into locals so
 * the compiler need not reload them after every int8 store. */
typedef struct {
    const int32_t *bias;
    const int32_t *multiplier;
    const int8_t *shift;
    int32_t offset, lo, hi;
} out_t;

static inline int8_t finish(const out_t *o, int oc, int32_t acc)
{
    acc = tm_requantize(acc + TM_W32(&o->bias[oc]), TM_W32(&o->multiplier[oc]),
                        TM_W8(&o->shift[oc])) + o->offset;
    return tm_clamp_s8(acc, (int8_t)o->lo, (int8_t)o->hi);
}

#if defined(TM_SIMD)
/* Outputs of pixels a and b (widened, SXTB16 order; b = a + n in scratch) for every channel:
 * two channels against two pixels, so each weight word serves two pixels and each input word
 * two channels. */
static void two_pixels(const out_t *o, int32_t n, int32_t out_c, const int16_t *xa,
                       const int8_t *filter, int8_t *out_a, int8_t *out_b)
{
    int32_t oc;
    for (oc = 0; oc < out_c; oc += 2) {
        const int8_t *w = filter + oc * n;
        const int32_t w_step = oc + 1 < out_c ? n : 0; /* odd count: the last channel twice */
        const int8_t *end = w + n;
        const int16_t *pa = xa;
        int32_t a0 = 0, a1 = 0, b0 = 0, b1 = 0;
        while (w < end) {
            const int32_t v0 = tm_load32(w);
            const int32_t v1 = tm_load32(w + w_step);
            const int32_t w0e = __sxtb16(v0), w0o = tm_sxtb16_odd(v0);
            const int32_t w1e = __sxtb16(v1), w1o = tm_sxtb16_odd(v1);
            int32_t x = tm_load32(pa);
            a0 = __smlad(x, w0e, a0);
            a1 = __smlad(x, w1e, a1);
            x = tm_load32(pa + 2);
            a0 = __smlad(x, w0o, a0);
            a1 = __smlad(x, w1o, a1);
            x = tm_load32(pa + n);
            b0 = __smlad(x, w0e, b0);
            b1 = __smlad(x, w1e, b1);
            x = tm_load32(pa + n + 2);
            b0 = __smlad(x, w0o, b0);
            b1 = __smlad(x, w1o, b1);
            w += 4;
            pa += 4;
        }
        out_a[oc] = finish(o, oc, a0);
        out_b[oc] = finish(o, oc, b0);
        if (w_step != 0) {
            out_a[oc + 1] = finish(o, oc + 1, a1);
            out_b[oc + 1] = finish(o, oc + 1, b1);
        }
    }
}
#endif

static void one_pixel(const out_t *o, int32_t n, int32_t out_c, const int8_t *x,
                      const int8_t *filter, int8_t *out)
{
    int32_t oc, i;
    for (oc = 0; oc < out_c; ++oc) {
        const int8_t *w = filter + oc * n;
        int32_t acc = 0;
        for (i = 0; i < n; ++i) {
            acc += (int32_t)x[i] * TM_W8(&w[i]);
        }
        out[oc] = finish(o, oc, acc);
    }
}

static void store(int8_t *dst, const int8_t *src, int n)
{
    int c;
    for (c = 0; c < n; ++c) {
        dst[c] = src[c];
    }
}

void tm_conv2d_1x1_s8(const tm_conv_params_t *p, const tm_requant_t *q, const int8_t *input,
                      const int8_t *filter, const int32_t *bias, int8_t *output, int8_t *scratch)
{
    const int32_t pixels = (int32_t)p->out_h * p->out_w;
    const int32_t in_c = p->in_c, out_c = p->out_c;
    const int forward = out_c <= in_c;
    out_t o;
    int32_t step;
    o.bias = bias;
    o.multiplier = q->multiplier;
    o.shift = q->shift;
    o.offset = p->output_offset;
    o.lo = p->act_min;
    o.hi = p->act_max;
#if defined(TM_SIMD)
    if ((in_c & 3) == 0) {
        /* scratch: 2 widened pixels (4 * in_c bytes), then 2 pixels of outputs (2 * out_c) */
        int16_t *xa = (int16_t *)(void *)scratch;
        int16_t *xb = xa + in_c;
        int8_t *out_a = scratch + 4 * in_c;
        int8_t *out_b = out_a + out_c;
        for (step = 0; step + 1 < pixels; step += 2) {
            const int32_t i = forward ? step : pixels - 2 - step;
            tm_widen_s8(input + i * in_c, xa, in_c, 0);
            tm_widen_s8(input + (i + 1) * in_c, xb, in_c, 0);
            two_pixels(&o, in_c, out_c, xa, filter, out_a, out_b);
            store(output + i * out_c, out_a, out_c);
            store(output + (i + 1) * out_c, out_b, out_c);
        }
        if (step < pixels) { /* odd pixel count: the one left is pixel 0 or pixels-1 */
            const int32_t i = forward ? pixels - 1 : 0;
            tm_widen_s8(input + i * in_c, xa, in_c, 0);
            tm_widen_s8(input + i * in_c, xb, in_c, 0);
            two_pixels(&o, in_c, out_c, xa, filter, out_a, out_b);
            store(output + i * out_c, out_a, out_c);
        }
        return;
    }
#endif
    for (step = 0; step < pixels; ++step) {
        const int32_t i = forward ? step : pixels - 1 - step;
        one_pixel(&o, in_c, out_c, input + i * in_c, filter, scratch);
        store(output + i * out_c, scratch, out_c);
    }
}

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
#include "tm_gemm.h"
#include "tm_simd.h"


static void one_pixel(const tm_out_t *o, int32_t n, int32_t out_c, const int8_t *x,
                      const int8_t *filter, int8_t *out)
{
    int32_t oc, i;
    for (oc = 0; oc < out_c; ++oc) {
        const int8_t *w = filter + oc * n;
        int32_t acc = 0;
        for (i = 0; i < n; ++i) {
            acc += (int32_t)x[i] * TM_W8(&w[i]);
        }
        out[oc] = tm_output(o, oc, acc);
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
    const tm_out_t o = tm_conv_output(p, q, bias);
    int32_t step;
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
            tm_gemm_2col_s8(&o, in_c, out_c, xa, filter, out_a, out_b);
            store(output + i * out_c, out_a, out_c);
            store(output + (i + 1) * out_c, out_b, out_c);
        }
        if (step < pixels) { /* odd pixel count: the one left is pixel 0 or pixels-1 */
            const int32_t i = forward ? pixels - 1 : 0;
            tm_widen_s8(input + i * in_c, xa, in_c, 0);
            tm_widen_s8(input + i * in_c, xb, in_c, 0);
            tm_gemm_2col_s8(&o, in_c, out_c, xa, filter, out_a, out_b);
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

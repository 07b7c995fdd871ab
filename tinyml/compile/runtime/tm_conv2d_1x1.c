/* CONV_2D with a 1x1 filter, stride 1, no padding: a matrix product per pixel.
 *
 * The input offset is folded into the bias at compile time (bias += input_offset * sum(w)),
 * so each output is a plain int8 dot product. Outputs go to scratch before they are stored,
 * so output may overwrite input in place: pixels run forwards when out_c <= in_c and
 * backwards otherwise, and no pixel is overwritten before it is read.
 * The DSP and Helium paths take four pixels at a time, copied (widened, on the DSP path) and
 * interleaved in scratch, through the shared matrix kernels (tm_gemm.c); their outputs go
 * straight to the output, as the inputs of all four are already in scratch. */
#include "tm_kernels.h"
#include "tm_math.h"
#include "tm_gemm.h"
#include "tm_mve.h"
#include "tm_simd.h"


#if !defined(TM_SIMD) && !defined(TM_MVE)
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
#endif

void tm_conv2d_1x1_s8(const tm_conv_params_t *p, const tm_requant_t *q, const int8_t *input,
                      const int8_t *filter, const int32_t *bias, int8_t *output, int8_t *scratch)
{
    const int32_t pixels = (int32_t)p->out_h * p->out_w;
    const int32_t in_c = p->in_c, out_c = p->out_c;
    const int forward = out_c <= in_c;
    const tm_out_t o = tm_conv_output(p, q, bias);
    int32_t step;
#if defined(TM_MVE)
    /* scratch: 4 raw pixels, interleaved (TM_COLS_BYTES(in_c)), then the outputs of a last,
     * partial block (4 * out_c); the same order of reads and writes as below. */
    int8_t *cols = scratch;
    int8_t *partial = scratch + TM_COLS_BYTES(in_c);
    int c;
    for (step = 0; step < pixels; step += 4) {
        const int32_t count = pixels - step < 4 ? pixels - step : 4;
        const int32_t first = forward ? step : pixels - step - count;
        for (c = 0; c < 4; ++c) { /* fewer than 4 left: repeat the last one */
            tm_mve_cols_put(input + (first + (c < count ? c : count - 1)) * in_c, cols, in_c, c);
        }
        tm_mve_gemm_4col_s8(&o, in_c, out_c, cols, filter, output + first * out_c, count, partial);
    }
#elif defined(TM_SIMD)
    /* scratch: 4 widened, interleaved pixels (TM_COLS_BYTES(in_c) bytes), then the outputs of
     * a last, partial block (4 * out_c). All four pixels are read before any output is
     * written, and each output region only covers inputs already read (forwards when
     * out_c <= in_c, backwards otherwise), so outputs go straight out. */
    int32_t *cols = (int32_t *)(void *)scratch;
    int8_t *partial = scratch + TM_COLS_BYTES(in_c);
    int c;
    for (step = 0; step < pixels; step += 4) {
        const int32_t count = pixels - step < 4 ? pixels - step : 4;
        const int32_t first = forward ? step : pixels - step - count;
        for (c = 0; c < 4; ++c) { /* fewer than 4 left: repeat the last one */
            tm_cols_widen(input + (first + (c < count ? c : count - 1)) * in_c, cols, in_c, c);
        }
        tm_gemm_4col_s8(&o, in_c, out_c, cols, filter, output + first * out_c, count, partial);
    }
#else
    for (step = 0; step < pixels; ++step) {
        const int32_t i = forward ? step : pixels - 1 - step;
        one_pixel(&o, in_c, out_c, input + i * in_c, filter, scratch);
        tm_copy_s8(output + i * out_c, scratch, out_c);
    }
#endif
}

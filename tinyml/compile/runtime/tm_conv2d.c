/* CONV_2D, int8, per-channel requantization.
 *
 * Out-of-bounds taps contribute nothing, which is what padding with the input zero point
 * means once the input offset is applied. The SIMD path gathers the patches of two output
 * pixels, offset applied and widened to int16 in SXTB16 order (padding = 0), and hands them
 * to the shared matrix kernel (tm_gemm.c). */
#include "tm_kernels.h"
#include "tm_math.h"
#include "tm_gemm.h"
#include "tm_simd.h"

#if defined(TM_SIMD)
/* Gathers the patch of output pixel (oy, ox): offset applied, padding 0, SXTB16 order. */
static void gather(const tm_conv_params_t *p, const int8_t *input, int oy, int ox, int16_t *patch,
                   int32_t whole)
{
    int32_t j = 0;
    int ky, kx, ic;
    for (ky = 0; ky < p->filter_h; ++ky) {
        const int in_y = oy * p->stride_h - p->pad_h + ky * p->dilation_h;
        for (kx = 0; kx < p->filter_w; ++kx) {
            const int in_x = ox * p->stride_w - p->pad_w + kx * p->dilation_w;
            const int inside = in_y >= 0 && in_y < p->in_h && in_x >= 0 && in_x < p->in_w;
            const int8_t *x = input + ((int32_t)in_y * p->in_w + in_x) * p->in_c;
            for (ic = 0; ic < p->in_c; ++ic, ++j) {
                /* slot of j: within each whole group of four, 0 2 1 3 */
                const int32_t slot = j >= whole ? j : ((j & ~3) | ((j & 1) << 1) | ((j & 2) >> 1));
                patch[slot] = (int16_t)(inside ? x[ic] + p->input_offset : 0);
            }
        }
    }
}

void tm_conv2d_s8(const tm_conv_params_t *p, const tm_requant_t *q, const int8_t *input,
                  const int8_t *filter, const int32_t *bias, int8_t *output, int16_t *patch)
{
    const int32_t k = (int32_t)p->filter_h * p->filter_w * p->in_c;
    const int32_t pixels = (int32_t)p->out_h * p->out_w;
    const tm_out_t o = tm_conv_output(p, q, bias);
    int32_t i;
    /* two output pixels at a time: patches side by side in scratch (2 * k values) */
    for (i = 0; i < pixels; i += 2) {
        const int32_t j = i + 1 < pixels ? i + 1 : i; /* odd count: the last pixel twice */
        gather(p, input, (int)(i / p->out_w), (int)(i % p->out_w), patch, k & ~3);
        gather(p, input, (int)(j / p->out_w), (int)(j % p->out_w), patch + k, k & ~3);
        tm_gemm_2col_s8(&o, k, p->out_c, patch, filter, output + i * p->out_c,
                        output + j * p->out_c);
    }
}
#else
void tm_conv2d_s8(const tm_conv_params_t *p, const tm_requant_t *q, const int8_t *input,
                  const int8_t *filter, const int32_t *bias, int8_t *output, int16_t *patch)
{
    const tm_out_t o = tm_conv_output(p, q, bias);
    int oy, ox, oc, ky, kx, ic;
    (void)patch;
    for (oy = 0; oy < p->out_h; ++oy) {
        const int in_y0 = oy * p->stride_h - p->pad_h;
        for (ox = 0; ox < p->out_w; ++ox) {
            const int in_x0 = ox * p->stride_w - p->pad_w;
            for (oc = 0; oc < p->out_c; ++oc) {
                const int8_t *w = filter + (int32_t)oc * p->filter_h * p->filter_w * p->in_c;
                int32_t acc = 0;
                for (ky = 0; ky < p->filter_h; ++ky) {
                    const int in_y = in_y0 + ky * p->dilation_h;
                    if (in_y < 0 || in_y >= p->in_h) {
                        continue;
                    }
                    for (kx = 0; kx < p->filter_w; ++kx) {
                        const int in_x = in_x0 + kx * p->dilation_w;
                        const int8_t *x;
                        const int8_t *wk;
                        if (in_x < 0 || in_x >= p->in_w) {
                            continue;
                        }
                        x = input + ((int32_t)in_y * p->in_w + in_x) * p->in_c;
                        wk = w + ((int32_t)ky * p->filter_w + kx) * p->in_c;
                        for (ic = 0; ic < p->in_c; ++ic) {
                            acc += ((int32_t)x[ic] + p->input_offset) * TM_W8(&wk[ic]);
                        }
                    }
                }
                output[((int32_t)oy * p->out_w + ox) * p->out_c + oc] = tm_output(&o, oc, acc);
            }
        }
    }
}
#endif

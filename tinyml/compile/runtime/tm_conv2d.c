/* CONV_2D, int8, per-channel requantization.
 *
 * Out-of-bounds taps contribute nothing, which is what padding with the input zero point
 * means once the input offset is applied. The SIMD path gathers each output pixel's patch
 * once, offset applied and widened to int16 in SXTB16 order (padding = 0), then takes the
 * dot products for two output channels at a time with SMLAD. */
#include "tm_kernels.h"
#include "tm_math.h"
#include "tm_simd.h"

static int8_t finish(const tm_conv_params_t *p, const tm_requant_t *q, const int32_t *bias,
                     int oc, int32_t acc)
{
    if (bias != 0) {
        acc += TM_W32(&bias[oc]);
    }
    acc = tm_requantize(acc, TM_W32(&q->multiplier[oc]), TM_W8(&q->shift[oc])) + p->output_offset;
    return tm_clamp_s8(acc, p->act_min, p->act_max);
}

#if defined(TM_SIMD)
/* Position of patch element j in SXTB16 order: within each group of four, 0 2 1 3. */
static int32_t sxtb16_slot(int32_t j, int32_t whole)
{
    return j >= whole ? j : ((j & ~3) | ((j & 1) << 1) | ((j & 2) >> 1));
}

static void dot2(const int16_t *x, const int8_t *w0, const int8_t *w1, int32_t n, int32_t *acc0,
                 int32_t *acc1)
{
    int32_t a0 = 0, a1 = 0, i;
    const int32_t whole = n & ~3;
    for (i = 0; i < whole; i += 4) {
        const int32_t x02 = tm_load32(x + i);
        const int32_t x13 = tm_load32(x + i + 2);
        const int32_t v0 = tm_load32(w0 + i);
        const int32_t v1 = tm_load32(w1 + i);
        a0 = __smlad(x02, __sxtb16(v0), a0);
        a0 = __smlad(x13, tm_sxtb16_odd(v0), a0);
        a1 = __smlad(x02, __sxtb16(v1), a1);
        a1 = __smlad(x13, tm_sxtb16_odd(v1), a1);
    }
    for (; i < n; ++i) {
        a0 += x[i] * w0[i];
        a1 += x[i] * w1[i];
    }
    *acc0 = a0;
    *acc1 = a1;
}

void tm_conv2d_s8(const tm_conv_params_t *p, const tm_requant_t *q, const int8_t *input,
                  const int8_t *filter, const int32_t *bias, int8_t *output, int16_t *patch)
{
    const int32_t k = (int32_t)p->filter_h * p->filter_w * p->in_c;
    const int32_t whole = k & ~3;
    int oy, ox, oc, ky, kx, ic;
    for (oy = 0; oy < p->out_h; ++oy) {
        for (ox = 0; ox < p->out_w; ++ox) {
            int8_t *out = output + ((int32_t)oy * p->out_w + ox) * p->out_c;
            int32_t j = 0;
            for (ky = 0; ky < p->filter_h; ++ky) {
                const int in_y = oy * p->stride_h - p->pad_h + ky * p->dilation_h;
                for (kx = 0; kx < p->filter_w; ++kx) {
                    const int in_x = ox * p->stride_w - p->pad_w + kx * p->dilation_w;
                    const int inside = in_y >= 0 && in_y < p->in_h && in_x >= 0 && in_x < p->in_w;
                    const int8_t *x = input + ((int32_t)in_y * p->in_w + in_x) * p->in_c;
                    for (ic = 0; ic < p->in_c; ++ic, ++j) {
                        patch[sxtb16_slot(j, whole)] =
                            (int16_t)(inside ? x[ic] + p->input_offset : 0);
                    }
                }
            }
            for (oc = 0; oc + 1 < p->out_c; oc += 2) {
                int32_t a0, a1;
                dot2(patch, filter + oc * k, filter + (oc + 1) * k, k, &a0, &a1);
                out[oc] = finish(p, q, bias, oc, a0);
                out[oc + 1] = finish(p, q, bias, oc + 1, a1);
            }
            if (oc < p->out_c) {
                int32_t a0, a1;
                dot2(patch, filter + oc * k, filter + oc * k, k, &a0, &a1);
                out[oc] = finish(p, q, bias, oc, a0);
            }
        }
    }
}
#else
void tm_conv2d_s8(const tm_conv_params_t *p, const tm_requant_t *q, const int8_t *input,
                  const int8_t *filter, const int32_t *bias, int8_t *output, int16_t *patch)
{
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
                output[((int32_t)oy * p->out_w + ox) * p->out_c + oc] = finish(p, q, bias, oc, acc);
            }
        }
    }
}
#endif

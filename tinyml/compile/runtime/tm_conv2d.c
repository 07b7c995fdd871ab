/* CONV_2D, int8, per-channel requantization. Out-of-bounds taps contribute nothing, which is
 * what padding with the input zero point means after the input offset is applied. */
#include "tm_kernels.h"
#include "tm_math.h"

void tm_conv2d_s8(const tm_conv_params_t *p, const tm_requant_t *q, const int8_t *input,
                  const int8_t *filter, const int32_t *bias, int8_t *output)
{
    int oy, ox, oc, ky, kx, ic;
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
                if (bias != 0) {
                    acc += TM_W32(&bias[oc]);
                }
                acc = tm_requantize(acc, TM_W32(&q->multiplier[oc]), TM_W8(&q->shift[oc])) + p->output_offset;
                output[((int32_t)oy * p->out_w + ox) * p->out_c + oc] =
                    tm_clamp_s8(acc, p->act_min, p->act_max);
            }
        }
    }
}

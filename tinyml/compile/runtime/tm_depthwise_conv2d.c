/* DEPTHWISE_CONV_2D, int8, per-channel requantization.
 *
 * Output channel oc = ic * depth_multiplier + m reads input channel ic only. With a depth
 * multiplier of 1 we go channel by channel: copy the channel's input plane to scratch, then
 * write the channel's outputs. Output slots of channel c only ever hold input of channel c,
 * already copied, so output may overwrite input in place (MCUNet's in-place depthwise). */
#include "tm_kernels.h"
#include "tm_math.h"

static void channel(const tm_conv_params_t *p, const tm_requant_t *q, const int8_t *plane,
                    int32_t plane_stride, const int8_t *filter, const int32_t *bias, int oc,
                    int8_t *output)
{
    int oy, ox, ky, kx;
    for (oy = 0; oy < p->out_h; ++oy) {
        const int in_y0 = oy * p->stride_h - p->pad_h;
        for (ox = 0; ox < p->out_w; ++ox) {
            const int in_x0 = ox * p->stride_w - p->pad_w;
            int32_t acc = 0;
            for (ky = 0; ky < p->filter_h; ++ky) {
                const int in_y = in_y0 + ky * p->dilation_h;
                if (in_y < 0 || in_y >= p->in_h) {
                    continue;
                }
                for (kx = 0; kx < p->filter_w; ++kx) {
                    const int in_x = in_x0 + kx * p->dilation_w;
                    if (in_x < 0 || in_x >= p->in_w) {
                        continue;
                    }
                    acc += ((int32_t)plane[((int32_t)in_y * p->in_w + in_x) * plane_stride] +
                            p->input_offset) *
                           TM_W8(&filter[((int32_t)ky * p->filter_w + kx) * p->out_c + oc]);
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

void tm_depthwise_conv2d_s8(const tm_conv_params_t *p, const tm_requant_t *q, const int8_t *input,
                            const int8_t *filter, const int32_t *bias, int8_t *output,
                            int8_t *scratch)
{
    const int32_t pixels = (int32_t)p->in_h * p->in_w;
    int ic, m;
    for (ic = 0; ic < p->in_c; ++ic) {
        if (p->depth_multiplier == 1 && scratch != 0) {
            int32_t i;
            for (i = 0; i < pixels; ++i) {
                scratch[i] = input[i * p->in_c + ic];
            }
            channel(p, q, scratch, 1, filter, bias, ic, output);
        } else {
            for (m = 0; m < p->depth_multiplier; ++m) {
                channel(p, q, input + ic, p->in_c, filter, bias, ic * p->depth_multiplier + m,
                        output);
            }
        }
    }
}

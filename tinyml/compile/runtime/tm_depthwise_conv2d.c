/* DEPTHWISE_CONV_2D, int8, per-channel requantization.
 *
 * Output channel oc = ic * depth_multiplier + m reads input channel ic only, so we go one
 * input channel at a time: its plane is copied to scratch as int16 with the input offset
 * applied and a border of zeros for the padding (plane_h x plane_w values). The window loops
 * then need no bounds checks, and 3x3 filters take pairs of taps per SMLAD on the SIMD path.
 * Output slots of channel c only ever hold input of channel c, already copied: with a depth
 * multiplier of 1 the output may overwrite the input in place (MCUNet's in-place depthwise). */
#include "tm_kernels.h"
#include "tm_math.h"
#include "tm_simd.h"

static void fill_plane(const tm_conv_params_t *p, const int8_t *input, int ic, int16_t *plane,
                       int plane_h, int plane_w)
{
    int y, x;
    for (y = 0; y < plane_h; ++y) {
        const int in_y = y - p->pad_h;
        for (x = 0; x < plane_w; ++x) {
            const int in_x = x - p->pad_w;
            const int inside = in_y >= 0 && in_y < p->in_h && in_x >= 0 && in_x < p->in_w;
            plane[(int32_t)y * plane_w + x] = (int16_t)(
                inside ? input[((int32_t)in_y * p->in_w + in_x) * p->in_c + ic] + p->input_offset : 0);
        }
    }
}

void tm_depthwise_conv2d_s8(const tm_conv_params_t *p, const tm_requant_t *q, const int8_t *input,
                            const int8_t *filter, const int32_t *bias, int8_t *output,
                            int16_t *plane)
{
    const int plane_h = (p->out_h - 1) * p->stride_h + (p->filter_h - 1) * p->dilation_h + 1;
    const int plane_w = (p->out_w - 1) * p->stride_w + (p->filter_w - 1) * p->dilation_w + 1;
    const int taps = p->filter_h * p->filter_w;
    int ic, m, oy, ox, t;
    for (ic = 0; ic < p->in_c; ++ic) {
        fill_plane(p, input, ic, plane, plane_h, plane_w);
        for (m = 0; m < p->depth_multiplier; ++m) {
            const int oc = ic * p->depth_multiplier + m;
            const int32_t b = bias != 0 ? TM_W32(&bias[oc]) : 0;
            const int32_t mult = TM_W32(&q->multiplier[oc]);
            const int shift = TM_W8(&q->shift[oc]);
            int32_t w[9];
#if defined(TM_SIMD)
            int32_t w01[3];
#endif
            const int fast3x3 = p->filter_h == 3 && p->filter_w == 3 && p->dilation_h == 1 &&
                                p->dilation_w == 1;
            if (fast3x3) {
                for (t = 0; t < 9; ++t) {
                    w[t] = TM_W8(&filter[(int32_t)t * p->out_c + oc]);
                }
#if defined(TM_SIMD)
                for (t = 0; t < 3; ++t) {
                    w01[t] = (int32_t)(((uint32_t)w[3 * t] & 0xFFFFu) | ((uint32_t)w[3 * t + 1] << 16));
                }
#endif
            }
            for (oy = 0; oy < p->out_h; ++oy) {
                for (ox = 0; ox < p->out_w; ++ox) {
                    const int16_t *r = plane + (int32_t)oy * p->stride_h * plane_w + ox * p->stride_w;
                    int32_t acc = 0;
                    if (fast3x3) {
#if defined(TM_SIMD)
                        acc = __smlad(tm_load32(r), w01[0], acc) + r[2] * w[2];
                        r += plane_w;
                        acc = __smlad(tm_load32(r), w01[1], acc) + r[2] * w[5];
                        r += plane_w;
                        acc = __smlad(tm_load32(r), w01[2], acc) + r[2] * w[8];
#else
                        for (t = 0; t < 3; ++t, r += plane_w) {
                            acc += r[0] * w[3 * t] + r[1] * w[3 * t + 1] + r[2] * w[3 * t + 2];
                        }
#endif
                    } else {
                        int ky, kx;
                        for (ky = 0; ky < p->filter_h; ++ky) {
                            const int16_t *row = r + (int32_t)ky * p->dilation_h * plane_w;
                            for (kx = 0; kx < p->filter_w; ++kx) {
                                acc += row[kx * p->dilation_w] *
                                       TM_W8(&filter[((int32_t)ky * p->filter_w + kx) * p->out_c + oc]);
                            }
                        }
                    }
                    acc = tm_requantize(acc + b, mult, shift) + p->output_offset;
                    output[((int32_t)oy * p->out_w + ox) * p->out_c + oc] =
                        tm_clamp_s8(acc, p->act_min, p->act_max);
                }
            }
        }
    }
    (void)taps;
}

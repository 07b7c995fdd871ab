/* AVERAGE_POOL_2D, int8: the sum over the window's in-bounds taps divided by their count,
 * rounded half away from zero. Scale and zero point pass through unchanged. */
#include "tm_kernels.h"
#include "tm_math.h"

void tm_average_pool2d_s8(const tm_pool_params_t *p, const int8_t *input, int8_t *output)
{
    int oy, ox, c, y, x;
    for (oy = 0; oy < p->out_h; ++oy) {
        int ys, ye;
        tm_clip_window(oy * p->stride_h - p->pad_h, p->filter_h, p->in_h, &ys, &ye);
        for (ox = 0; ox < p->out_w; ++ox) {
            int xs, xe;
            tm_clip_window(ox * p->stride_w - p->pad_w, p->filter_w, p->in_w, &xs, &xe);
            const int32_t count = (int32_t)(ye - ys) * (xe - xs);
            for (c = 0; c < p->channels; ++c) {
                int32_t sum = 0;
                int32_t avg;
                for (y = ys; y < ye; ++y) {
                    for (x = xs; x < xe; ++x) {
                        sum += input[((int32_t)y * p->in_w + x) * p->channels + c];
                    }
                }
                if (count == 0) {
                    avg = 0;
                } else {
                    avg = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                }
                output[((int32_t)oy * p->out_w + ox) * p->channels + c] =
                    tm_clamp_s8(avg, p->act_min, p->act_max);
            }
        }
    }
}

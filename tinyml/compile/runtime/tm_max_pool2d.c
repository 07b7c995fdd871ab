/* MAX_POOL_2D, int8: the largest in-bounds value of the window, clamped by the activation. */
#include "tm_kernels.h"
#include "tm_math.h"

void tm_max_pool2d_s8(const tm_pool_params_t *p, const int8_t *input, int8_t *output)
{
    int oy, ox, c, y, x;
    for (oy = 0; oy < p->out_h; ++oy) {
        int ys, ye;
        tm_clip_window(oy * p->stride_h - p->pad_h, p->filter_h, p->in_h, &ys, &ye);
        for (ox = 0; ox < p->out_w; ++ox) {
            int xs, xe;
            tm_clip_window(ox * p->stride_w - p->pad_w, p->filter_w, p->in_w, &xs, &xe);
            for (c = 0; c < p->channels; ++c) {
                int32_t best = -128;
                for (y = ys; y < ye; ++y) {
                    for (x = xs; x < xe; ++x) {
                        const int32_t v = input[((int32_t)y * p->in_w + x) * p->channels + c];
                        best = v > best ? v : best;
                    }
                }
                output[((int32_t)oy * p->out_w + ox) * p->channels + c] =
                    tm_clamp_s8(best, p->act_min, p->act_max);
            }
        }
    }
}

/* DEPTHWISE_CONV_2D, int8, per-channel requantization.
 *
 * Output channel oc = ic * depth_multiplier + m reads input channel ic only, so we go one
 * input channel at a time: its plane is copied to scratch as int16, raw, in a border of the
 * input zero point for the padding (plane_h x plane_w values); the input offset is folded
 * into the bias at compile time (bias += input_offset * sum of the channel's taps). The
 * window loops then need no bounds checks, and 3x3 filters take pairs of taps per SMLAD on
 * the SIMD path.
 * Output slots of channel c only ever hold input of channel c, already copied: with a depth
 * multiplier of 1 the output may overwrite the input in place (MCUNet's in-place depthwise). */
#include "tm_kernels.h"
#include "tm_math.h"
#include "tm_simd.h"

typedef struct {
    int16_t *plane;
    int32_t plane_w;
    int32_t out_h, out_w, stride_h, stride_w;
    int32_t out_step; /* distance between two output pixels: out_c */
} plane_t;

/* Copies input channel ic into the plane's interior. The border (the padding) keeps the zero
 * point: tm_depthwise_conv2d_s8 sets the whole plane once, and no channel writes there. */
static void fill_plane(const tm_conv_params_t *p, const int8_t *input, int32_t ic,
                       const plane_t *pl, int32_t plane_h)
{
    const int32_t in_c = p->in_c, in_w = p->in_w;
    const int32_t width = in_w < pl->plane_w - p->pad_w ? in_w : pl->plane_w - p->pad_w;
    int32_t y, x;
    for (y = 0; y < p->in_h && y + p->pad_h < plane_h; ++y) {
        int16_t *row = pl->plane + (y + p->pad_h) * pl->plane_w + p->pad_w;
        const int8_t *src = input + y * in_w * in_c + ic;
        for (x = 0; x < width; ++x) {
            row[x] = src[x * in_c];
        }
    }
}

/* The window sums of one output channel of a 3x3, dilation-1 filter over the plane, bias
 * included: one int32 per output pixel, row-major. Apart from the output stage (done
 * afterwards, in a loop of its own) so that the nine weights stay in registers. */
TM_NOINLINE static void sums_3x3(const plane_t *pl, const int8_t *filter, int32_t out_c,
                                 int32_t oc, int32_t bias, int32_t *sums)
{
    const int32_t pw = pl->plane_w;
    const int32_t w0 = TM_W8(&filter[oc]), w1 = TM_W8(&filter[out_c + oc]);
    const int32_t w2 = TM_W8(&filter[2 * out_c + oc]), w3 = TM_W8(&filter[3 * out_c + oc]);
    const int32_t w4 = TM_W8(&filter[4 * out_c + oc]), w5 = TM_W8(&filter[5 * out_c + oc]);
    const int32_t w6 = TM_W8(&filter[6 * out_c + oc]), w7 = TM_W8(&filter[7 * out_c + oc]);
    const int32_t w8 = TM_W8(&filter[8 * out_c + oc]);
#if defined(TM_SIMD)
    const int32_t w01 = (int32_t)(((uint32_t)w0 & 0xFFFFu) | ((uint32_t)w1 << 16));
    const int32_t w34 = (int32_t)(((uint32_t)w3 & 0xFFFFu) | ((uint32_t)w4 << 16));
    const int32_t w67 = (int32_t)(((uint32_t)w6 & 0xFFFFu) | ((uint32_t)w7 << 16));
    const int32_t w25 = (int32_t)(((uint32_t)w2 & 0xFFFFu) | ((uint32_t)w5 << 16));
#endif
    const int32_t out_h = pl->out_h, out_w = pl->out_w, row_step = pl->stride_h * pw;
    const int32_t col_step = pl->stride_w;
    int32_t oy;
    for (oy = 0; oy < out_h; ++oy) {
        const int16_t *r0 = pl->plane + oy * row_step, *r1 = r0 + pw, *r2 = r1 + pw;
        const int32_t *end = sums + out_w;
        for (; sums < end; r0 += col_step, r1 += col_step, r2 += col_step) {
#if defined(TM_SIMD)
            int32_t acc = __smlad(tm_load32(r0), w01, __smlabb(r0[2], w25, bias));
            acc = __smlad(tm_load32(r1), w34, __smlabt(r1[2], w25, acc));
            acc = __smlad(tm_load32(r2), w67, acc + r2[2] * w8);
#else
            int32_t acc = bias + r0[0] * w0 + r0[1] * w1 + r0[2] * w2;
            acc += r1[0] * w3 + r1[1] * w4 + r1[2] * w5;
            acc += r2[0] * w6 + r2[1] * w7 + r2[2] * w8;
#endif
            *sums++ = acc;
        }
    }
}

/* The output stage of channel oc over its n window sums (bias included); `stage` is a
 * constant at each call. */
TM_INLINE void outputs_run(const tm_out_t *o, int32_t oc, const int32_t *sums, int32_t n,
                           int8_t *out, int32_t step, int stage)
{
    const int32_t *end = sums + n;
#if defined(TM_SIMD)
    if (stage != TM_GENERAL) {
        const tm_fast_t f = tm_fast_channel(o, oc);
        for (; sums < end; out += step) {
            *out = tm_fast_output(&f, *sums++, stage, o->lo, o->hi);
        }
        return;
    }
#endif
    {
        tm_channel_t ch = tm_channel(o, oc);
        ch.bias = 0;
        (void)stage;
        for (; sums < end; out += step) {
            *out = tm_channel_output(&ch, *sums++);
        }
    }
}

TM_NOINLINE static void channel_outputs(const tm_out_t *o, int32_t oc, const int32_t *sums,
                                        int32_t n, int8_t *out, int32_t step)
{
#if defined(TM_SIMD)
    switch (tm_fast_stage(o)) {
    case TM_FAST_SSAT:
        outputs_run(o, oc, sums, n, out, step, TM_FAST_SSAT);
        return;
    case TM_FAST_CLAMP:
        outputs_run(o, oc, sums, n, out, step, TM_FAST_CLAMP);
        return;
    default:
        break;
    }
#endif
    outputs_run(o, oc, sums, n, out, step, 0);
}

/* One output channel of any other filter shape. */
static void channel_any(const tm_conv_params_t *p, const plane_t *pl, const int8_t *filter,
                        int32_t oc, const tm_out_t *o, int8_t *output)
{
    const tm_channel_t ch = tm_channel(o, oc);
    int32_t oy, ox, ky, kx;
    for (oy = 0; oy < pl->out_h; ++oy) {
        for (ox = 0; ox < pl->out_w; ++ox) {
            const int16_t *r = pl->plane + oy * pl->stride_h * pl->plane_w + ox * pl->stride_w;
            int32_t acc = 0;
            for (ky = 0; ky < p->filter_h; ++ky) {
                const int16_t *row = r + ky * p->dilation_h * pl->plane_w;
                for (kx = 0; kx < p->filter_w; ++kx) {
                    acc += row[kx * p->dilation_w] *
                           TM_W8(&filter[(ky * p->filter_w + kx) * p->out_c + oc]);
                }
            }
            output[(oy * pl->out_w + ox) * pl->out_step + oc] = tm_channel_output(&ch, acc);
        }
    }
}

void tm_depthwise_conv2d_s8(const tm_conv_params_t *p, const tm_requant_t *q, const int8_t *input,
                            const int8_t *filter, const int32_t *bias, int8_t *output,
                            int16_t *plane)
{
    const int32_t plane_h = (p->out_h - 1) * p->stride_h + (p->filter_h - 1) * p->dilation_h + 1;
    const int fast = p->filter_h == 3 && p->filter_w == 3 && p->dilation_h == 1 &&
                     p->dilation_w == 1;
    const tm_out_t o = tm_conv_output(p, q, bias);
    const int32_t pixels = (int32_t)p->out_h * p->out_w;
    int32_t *sums;
    plane_t pl;
    int32_t ic, m;
    pl.plane = plane;
    pl.plane_w = (p->out_w - 1) * p->stride_w + (p->filter_w - 1) * p->dilation_w + 1;
    pl.out_h = p->out_h;
    pl.out_w = p->out_w;
    pl.stride_h = p->stride_h;
    pl.stride_w = p->stride_w;
    pl.out_step = p->out_c;
    sums = (int32_t *)(void *)(plane + ((plane_h * pl.plane_w + 1) & ~1));
    for (ic = 0; ic < plane_h * pl.plane_w; ++ic) {
        plane[ic] = (int16_t)-p->input_offset;
    }
    for (ic = 0; ic < p->in_c; ++ic) {
        fill_plane(p, input, ic, &pl, plane_h);
        for (m = 0; m < p->depth_multiplier; ++m) {
            const int32_t oc = ic * p->depth_multiplier + m;
            if (fast) {
                sums_3x3(&pl, filter, p->out_c, oc, bias != 0 ? TM_W32(&bias[oc]) : 0, sums);
                channel_outputs(&o, oc, sums, pixels, output + oc, p->out_c);
            } else {
                channel_any(p, &pl, filter, oc, &o, output);
            }
        }
    }
}

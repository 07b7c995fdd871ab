/* DEPTHWISE_CONV_2D, int8, per-channel requantization.
 *
 * Output channel oc = ic * depth_multiplier + m reads input channel ic only, so we go one
 * input channel at a time: its plane is copied to scratch as int16, raw, in a border of the
 * input zero point for the padding (plane_h x plane_w values); the input offset is folded
 * into the bias at compile time (bias += input_offset * sum of the channel's taps). The
 * window loops then need no bounds checks, and 3x3 filters take pairs of taps per SMLAD on
 * the SIMD path.
 * Output slots of channel c only ever hold input of channel c, already copied: with a depth
 * multiplier of 1 the output may overwrite the input in place (MCUNet's in-place depthwise).
 *
 * The Helium path keeps the plane as int8 (widened by the loads) and computes four outputs
 * at a time along the plane's contiguous axis: per tap one widening load and one VMLA by the
 * tap's weight (a scalar), four MACs. The contiguous axis is the output's width, or its
 * height when that wastes fewer lanes (KWS: 25 x 5 outputs, so columns of 25): the plane is
 * then stored transposed. The four outputs of a vector reach the output in one scatter
 * store; a line's last vector stores only its real lanes.
 *
 * Scratch (all paths): the plane region, dw_plane_bytes(), then the window sums of one
 * channel, out_h * out_w + 3 int32 (a vector may run three lanes past the last one). */
#include "tm_kernels.h"
#include "tm_math.h"
#include "tm_mve.h"
#include "tm_simd.h"

/* Bytes of the plane region: the int16 plane of the DSP and portable paths, or the Helium
 * path's int8 plane (lines at most twice their length apart) and the three lanes a last
 * vector may read past its end (the compiler sizes scratch with the same formula,
 * tinyml/compile/ops/depthwise_conv2d.py). */
static int32_t dw_plane_bytes(const tm_conv_params_t *p, int32_t plane_h, int32_t plane_w)
{
    const int32_t wide = 4 * ((plane_h * plane_w + 1) / 2);
    const int32_t stride = p->stride_h > p->stride_w ? p->stride_h : p->stride_w;
    const int32_t narrow = (2 * plane_h * plane_w + 3 * stride + 3) & ~3;
    return wide > narrow ? wide : narrow;
}

#if !defined(TM_MVE)
/* The DSP and portable paths: an int16 plane, row-major. */
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

#if defined(TM_SIMD)
/* The window sums of one output channel (bias included) of a filter whose `taps` taps are
 * adjacent in the plane, `step` filter values apart: one row of taps, or one column over a
 * 1-wide map (a 1-D convolution, as in streaming keyword models). The weights are paired
 * once, so each pair of taps is one LDR and one SMLAD. At most 32 taps. */
TM_NOINLINE static void sums_line(const plane_t *pl, const int8_t *filter, int32_t taps,
                                  int32_t step, int32_t bias, int32_t *sums)
{
    const int32_t pairs = taps / 2, row_step = pl->stride_h * pl->plane_w;
    const int32_t last = taps & 1 ? TM_W8(&filter[(taps - 1) * step]) : 0;
    int32_t w[16], oy, ox, i;
    for (i = 0; i < pairs; ++i) {
        const int32_t w0 = TM_W8(&filter[2 * i * step]), w1 = TM_W8(&filter[(2 * i + 1) * step]);
        w[i] = (int32_t)(((uint32_t)w0 & 0xFFFFu) | ((uint32_t)w1 << 16));
    }
    for (oy = 0; oy < pl->out_h; ++oy) {
        const int16_t *r = pl->plane + oy * row_step;
        for (ox = 0; ox < pl->out_w; ++ox, r += pl->stride_w) {
            int32_t acc = bias + r[taps - 1] * last;
            for (i = 0; i < pairs; ++i) {
                acc = __smlad(tm_load32(r + 2 * i), w[i], acc);
            }
            *sums++ = acc;
        }
    }
}
#endif

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
#endif

#if defined(TM_MVE)
/* The plane as the Helium path lays it out: lines along the vector axis a (contiguous), one
 * every `pitch` bytes along the other axis b. The pitch is the line's length rounded up to
 * a power of two, so that a 3 x 3 filter's taps are fixed offsets from one pointer (at most
 * twice the line: the plane still fits the int16 plane's bytes). */
typedef struct {
    int8_t *plane;
    int32_t pitch;
    int32_t out_a, out_b;           /* outputs along a, and lines of outputs */
    int32_t step_a, step_b;         /* plane distance between two lanes, two output lines */
    int32_t tap_a, tap_b;           /* plane distance between two taps along a, along b */
    int32_t k_a, k_b;               /* taps along a, along b */
    int32_t out_step_a, out_step_b; /* output distance between two lanes, two lines */
} vplane_t;

/* Copies input channel ic into the plane's interior (the border keeps the zero point):
 * eight values at a time, gathered from the input (count_a of them per line, src_a apart)
 * and stored as bytes. */
static void fill_vplane(const int8_t *input, const vplane_t *vp, int32_t count_a,
                        int32_t count_b, int32_t src_a, int32_t src_b, int32_t first)
{
    int8_t *dst = vp->plane + first;
    const int32_t pitch = vp->pitch;
    int32_t b, a;
    if (7 * src_a < 65536) {
        const uint16x8_t lanes = vmulq_n_u16(vidupq_n_u16(0u, 1), (uint16_t)src_a);
        const mve_pred16_t part = vctp16q((uint32_t)(count_a & 7));
        for (b = 0; b < count_b; ++b, input += src_b, dst += pitch) {
            const int8_t *src = input;
            for (a = 0; a + 8 <= count_a; a += 8, src += 8 * src_a) {
                vstrbq_s16(dst + a, vldrbq_gather_offset_s16(src, lanes));
            }
            if (a < count_a) {
                vstrbq_p_s16(dst + a, vldrbq_gather_offset_z_s16(src, lanes, part), part);
            }
        }
        return;
    }
    {
        const uint32x4_t lanes = tm_mve_steps(src_a);
        for (b = 0; b < count_b; ++b, input += src_b, dst += pitch) {
            const int8_t *src = input;
            for (a = 0; a < count_a; a += 4, src += 4 * src_a) {
                const mve_pred16_t part = vctp32q((uint32_t)(count_a - a));
                vstrbq_p_s32(dst + a, vldrbq_gather_offset_z_s32(src, lanes, part), part);
            }
        }
    }
}

/* One tap of a 3 x 3 filter: the four values at p + off (p already advanced by 4), widened,
 * times the tap's weight. */
#define TM_DW_TAP(off, w)                                   \
    "vldrb.s32  %q[x], [%[p], #" off "]\n\t"                \
    "vmla.s32   %q[acc], %q[x], %[" w "]\n\t"

/* The window sums of one line: n >= 1 vectors of four outputs from p, into dst. A 3 x 3 filter
 * over adjacent values, lines `pitch` apart (a constant at each call, at most 64, so every
 * tap is an immediate offset from p): 36 MACs in 9 loads and 9 VMLA by the weights (in
 * registers), 22 instructions. In assembly because GCC 12 neither folds these offsets into
 * the loads nor keeps the nine weights in registers. */
#define TM_DW_LINE(pitch)                                                                       \
    __asm__ volatile("1:\n\t"                                                                   \
            "vmov       %q[acc], %q[start]\n\t"                                                 \
            "vldrb.s32  %q[x], [%[p]], #4\n\t"                                                  \
            "vmla.s32   %q[acc], %q[x], %[w00]\n\t"                                             \
            TM_DW_TAP("-3", "w10") TM_DW_TAP("-2", "w20")                                       \
            TM_DW_TAP("%c[p0]", "w01") TM_DW_TAP("%c[p1]", "w11") TM_DW_TAP("%c[p2]", "w21")    \
            TM_DW_TAP("%c[q0]", "w02") TM_DW_TAP("%c[q1]", "w12") TM_DW_TAP("%c[q2]", "w22")    \
            "vstrw.32   %q[acc], [%[dst]], #16\n\t"                                             \
            "subs       %[n], %[n], #1\n\t"                                                     \
            "bne        1b"                                                                     \
            : [p] "+l"(p), [dst] "+r"(dst), [n] "+r"(n), [acc] "=&w"(acc), [x] "=&w"(x)         \
            : [start] "w"(start), [w00] "r"(w00), [w10] "r"(w10), [w20] "r"(w20),               \
              [w01] "r"(w01), [w11] "r"(w11), [w21] "r"(w21), [w02] "r"(w02), [w12] "r"(w12),   \
              [w22] "r"(w22), [p0] "i"((pitch) - 4), [p1] "i"((pitch) - 3),                     \
              [p2] "i"((pitch) - 2), [q0] "i"(2 * (pitch) - 4), [q1] "i"(2 * (pitch) - 3),      \
              [q2] "i"(2 * (pitch) - 2)                                                         \
            : "cc", "memory")

#if defined(__OPTIMIZE__)
/* One line of a 3 x 3 filter's sums through TM_DW_LINE, for one pitch: a function of its own
 * per pitch and per line, as GCC 12 cannot give the assembly its twelve registers inside a
 * loop (a call costs about a dozen instructions a line). */
#define TM_DW_LINE_FN(pitch)                                                                   \
    TM_NOINLINE static void vsums_line_##pitch(const int8_t *p, int32_t *dst, int32_t n,        \
                                               const int32_t *w, int32x4_t start)               \
    {                                                                                           \
        const int32_t w00 = w[0], w10 = w[1], w20 = w[2], w01 = w[3], w11 = w[4];               \
        const int32_t w21 = w[5], w02 = w[6], w12 = w[7], w22 = w[8];                           \
        int32x4_t acc, x;                                                                       \
        TM_DW_LINE(pitch);                                                                      \
    }
TM_DW_LINE_FN(4)
TM_DW_LINE_FN(8)
TM_DW_LINE_FN(16)
TM_DW_LINE_FN(32)
TM_DW_LINE_FN(64)

/* The line function for lines `pitch` apart, or 0. */
typedef void (*tm_dw_line_fn)(const int8_t *, int32_t *, int32_t, const int32_t *, int32x4_t);
static tm_dw_line_fn vsums_line(int32_t pitch)
{
    switch (pitch) {
    case 4:
        return vsums_line_4;
    case 8:
        return vsums_line_8;
    case 16:
        return vsums_line_16;
    case 32:
        return vsums_line_32;
    case 64:
        return vsums_line_64;
    default:
        return 0;
    }
}
#endif

/* The window sums of a 3 x 3 filter over adjacent values, bias included, for out_b lines of
 * out_a: per four outputs nine loads and nine VMLA by the weights w[i + 3 j] (i along a, j
 * along b). Lines tb apart: one of the pitches TM_DW_LINE takes, or any other in C. */
TM_NOINLINE static void vsums_3x3(const vplane_t *vp, const int32_t *w, int32_t bias,
                                  int32_t *sums)
{
    const int8_t *plane = vp->plane;
    const int32_t step_b = vp->step_b, tb = vp->tap_b, out_a = vp->out_a, out_b = vp->out_b;
    const int32_t w00 = w[0], w10 = w[1], w20 = w[2], w01 = w[3], w11 = w[4], w21 = w[5];
    const int32_t w02 = w[6], w12 = w[7], w22 = w[8];
    const int32_t vectors = (out_a + 3) >> 2;
    const int32x4_t start = vdupq_n_s32(bias);
    int32_t b;
#if defined(__OPTIMIZE__)
    {
        const tm_dw_line_fn line = vsums_line(tb);
        if (line != 0) {
            for (b = 0; b < out_b; ++b) {
                line(plane + b * step_b, sums + b * out_a, vectors, w, start);
            }
            return;
        }
    }
#endif
    for (b = 0; b < out_b; ++b) {
        const int8_t *p = plane + b * step_b;
        int32_t *dst = sums + b * out_a;
        int32_t n;
        for (n = vectors; n > 0; --n, p += 4, dst += 4) {
            const int8_t *p1 = p + tb, *p2 = p + 2 * tb;
            int32x4_t acc = vmlaq_n_s32(start, vldrbq_s32(p), w00);
            acc = vmlaq_n_s32(acc, vldrbq_s32(p + 1), w10);
            acc = vmlaq_n_s32(acc, vldrbq_s32(p + 2), w20);
            acc = vmlaq_n_s32(acc, vldrbq_s32(p1), w01);
            acc = vmlaq_n_s32(acc, vldrbq_s32(p1 + 1), w11);
            acc = vmlaq_n_s32(acc, vldrbq_s32(p1 + 2), w21);
            acc = vmlaq_n_s32(acc, vldrbq_s32(p2), w02);
            acc = vmlaq_n_s32(acc, vldrbq_s32(p2 + 1), w12);
            acc = vmlaq_n_s32(acc, vldrbq_s32(p2 + 2), w22);
            vstrwq_s32(dst, acc);
        }
    }
}

/* The same for any filter: taps k_a x k_b, tap distances tap_a and tap_b, lanes step_a
 * apart (gathered when not adjacent); the weights are read from the filter at each tap. */
TM_NOINLINE static void vsums_any(const vplane_t *vp, const int8_t *filter, int32_t fa,
                                  int32_t fb, int32_t bias, int32_t *sums)
{
    const int32_t step_a = vp->step_a, tap_a = vp->tap_a, tb = vp->tap_b;
    const int32_t k_a = vp->k_a, k_b = vp->k_b, out_a = vp->out_a, out_b = vp->out_b;
    const uint32x4_t lanes = tm_mve_steps(step_a);
    int32_t b, a, i, j;
    for (b = 0; b < out_b; ++b) {
        const int8_t *r = vp->plane + b * vp->step_b;
        int32_t *dst = sums + b * out_a;
        for (a = 0; a < out_a; a += 4, r += 4 * step_a, dst += 4) {
            int32x4_t acc = vdupq_n_s32(bias);
            for (j = 0; j < k_b; ++j) {
                const int8_t *t = r + j * tb, *w = filter + j * fb;
                for (i = 0; i < k_a; ++i, t += tap_a, w += fa) {
                    const int32x4_t x =
                        step_a == 1 ? vldrbq_s32(t) : vldrbq_gather_offset_s32(t, lanes);
                    acc = vmlaq_n_s32(acc, x, TM_W8(w));
                }
            }
            vstrwq_s32(dst, acc);
        }
    }
}

/* The same for a filter of one line of k_a <= 16 adjacent taps (a k x 1 filter on a 1-wide
 * map, as a 1-D convolution): one VMLADAV per output, over the 16 plane values from its
 * first tap, the taps past k_a zero. A load and a VMLADAV per output, where four lanes of
 * VMLA need a load and a VMLA per tap. Reads up to 16 - k_a values past the last window: the
 * sums after the plane (at least 16 bytes) are there. */
TM_NOINLINE static void vsums_dot(const vplane_t *vp, const int8_t *filter, int32_t fa,
                                  int32_t bias, int32_t *sums)
{
    const int32_t out_a = vp->out_a, out_b = vp->out_b, step_a = vp->step_a;
    int8_t w[16];
    int8x16_t taps;
    int32_t b, a, i;
    for (i = 0; i < 16; ++i) {
        w[i] = i < vp->k_a ? TM_W8(&filter[i * fa]) : 0;
    }
    taps = vldrbq_s8(w);
    for (b = 0; b < out_b; ++b) {
        const int8_t *r = vp->plane + b * vp->step_b;
        int32_t *dst = sums + b * out_a;
        for (a = 0; a < out_a; ++a, r += step_a) {
            dst[a] = vmladavaq_s8(bias, vldrbq_s8(r), taps);
        }
    }
}

/* The output stage of one channel over its sums, four at a time, into the output (out
 * points at the channel's first output); a line's last vector stores only its real lanes.
 * `narrow` is a constant at each call. */
TM_INLINE void voutputs_run(const tm_out_t *o, const vplane_t *vp, int32_t oc,
                            const int32_t *sums, int8_t *out, int narrow)
{
    const int32_t out_a = vp->out_a, out_b = vp->out_b, out_step_b = vp->out_step_b;
    const int32_t step4 = 4 * vp->out_step_a, offset = o->offset;
    const uint32x4_t lanes = tm_mve_steps(vp->out_step_a);
    const int32x4_t lo = vdupq_n_s32(o->lo), hi = vdupq_n_s32(o->hi);
    const int32_t shift = o->shift[oc], m = o->multiplier[oc];
    const int32_t left = shift > 0 ? shift : 0, neg_right = shift < 0 ? shift : 0;
    const mve_pred16_t last = vctp32q((uint32_t)(((out_a - 1) & 3) + 1));
    int32_t b, a;
    for (b = 0; b < out_b; ++b, out += out_step_b) {
        const int32_t *src = sums + b * out_a;
        int8_t *dst = out;
        for (a = 4; a <= out_a; a += 4, src += 4, dst += step4) { /* whole vectors */
            int32x4_t v = vldrwq_s32(src);
            v = narrow ? tm_mve_requant_narrow_n(v, m, neg_right, offset, lo, hi)
                       : tm_mve_requant_n(v, m, left, neg_right, offset, lo, hi);
            vstrbq_scatter_offset_s32(dst, lanes, v);
        }
        if (a - 4 < out_a) { /* the last, partial one */
            int32x4_t v = vldrwq_s32(src);
            v = narrow ? tm_mve_requant_narrow_n(v, m, neg_right, offset, lo, hi)
                       : tm_mve_requant_n(v, m, left, neg_right, offset, lo, hi);
            vstrbq_scatter_offset_p_s32(dst, lanes, v, last);
        }
    }
}

TM_NOINLINE static void voutputs(const tm_out_t *o, const vplane_t *vp, int32_t oc,
                                 const int32_t *sums, int8_t *out)
{
    if (o->narrow) {
        voutputs_run(o, vp, oc, sums, out, 1);
    } else {
        voutputs_run(o, vp, oc, sums, out, 0);
    }
}

/* The channel-vector form, for small outputs: four channels per vector, taken straight from
 * the input, an output pixel at a time; a tap in the padding adds the input zero point times
 * its weights (the folded bias counts on it). Per tap two widening loads, a VMUL and a VADD
 * for four MACs, but none of the planar form's costs per channel, which outweigh those of a
 * few pixels. Depth multiplier 1; in place only for a single output pixel (every input it
 * reads is read before its slot is written). */
TM_NOINLINE static void depthwise_mve_pixels(const tm_conv_params_t *p, const tm_out_t *o,
                                             const int8_t *input, const int8_t *filter,
                                             int8_t *output)
{
    const int32_t channels = p->in_c, in_h = p->in_h, in_w = p->in_w;
    const int32_t zero_point = -p->input_offset;
    const int32x4_t lo = vdupq_n_s32(o->lo), hi = vdupq_n_s32(o->hi), zero = vdupq_n_s32(0);
    int32_t oy, ox, c, ky, kx;
    for (oy = 0; oy < p->out_h; ++oy) {
        for (ox = 0; ox < p->out_w; ++ox) {
            const int32_t y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
            int8_t *out = output + (oy * p->out_w + ox) * channels;
            for (c = 0; c < channels; c += 4) {
                const mve_pred16_t real = vctp32q((uint32_t)(channels - c));
                int32x4_t acc = o->bias != 0 ? vldrwq_z_s32(o->bias + c, real) : zero;
                int32x4_t shift;
                const int8_t *w = filter + c;
                for (ky = 0; ky < p->filter_h; ++ky) {
                    const int32_t iy = y0 + ky * p->dilation_h;
                    for (kx = 0; kx < p->filter_w; ++kx, w += channels) {
                        const int32_t ix = x0 + kx * p->dilation_w;
                        const int32x4_t wv = vldrbq_z_s32(w, real);
                        if (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w) {
                            const int8_t *x = input + (iy * in_w + ix) * channels + c;
                            acc = vaddq_s32(acc, vmulq_s32(vldrbq_z_s32(x, real), wv));
                        } else {
                            acc = vmlaq_n_s32(acc, wv, zero_point);
                        }
                    }
                }
                shift = vldrbq_z_s32(o->shift + c, real);
                acc = o->narrow
                          ? tm_mve_requant_narrow(acc, vldrwq_z_s32(o->multiplier + c, real), shift,
                                                  o->offset, lo, hi)
                          : tm_mve_requant(acc, vldrwq_z_s32(o->multiplier + c, real),
                                           vmaxq_s32(shift, zero), vminq_s32(shift, zero),
                                           o->offset, lo, hi);
                vstrbq_p_s32(out + c, acc, real);
            }
        }
    }
}

static void depthwise_mve(const tm_conv_params_t *p, const tm_out_t *o, const int8_t *input,
                          const int8_t *filter, const int32_t *bias, int8_t *output,
                          int8_t *plane, int32_t plane_h, int32_t plane_w, int32_t *sums)
{
    /* the vector axis: the one whose outputs fill more of their vectors, or (as many) the
     * longer one, so the plane has fewer lines to fill */
    const int32_t out_h = p->out_h, out_w = p->out_w, out_c = p->out_c;
    const int32_t lanes_h = ((out_h + 3) & ~3) * out_w, lanes_w = ((out_w + 3) & ~3) * out_h;
    const int transposed = lanes_h < lanes_w || (lanes_h == lanes_w && plane_h > plane_w);
    const int32_t line = transposed ? plane_h : plane_w, lines = transposed ? plane_w : plane_h;
    const int32_t k_w = p->filter_w, row = (int32_t)p->in_w * p->in_c;
    /* the input inside the plane: count_a values per line (src_a apart), count_b lines */
    const int32_t room_h = plane_h - p->pad_h, room_w = plane_w - p->pad_w;
    const int32_t fill_h = p->in_h < room_h ? p->in_h : room_h;
    const int32_t fill_w = p->in_w < room_w ? p->in_w : room_w;
    const int8x16_t zero_point = vdupq_n_s8((int8_t)-p->input_offset);
    /* filter distance between two taps along a, along b */
    const int32_t fa = (transposed ? k_w : 1) * out_c, fb = (transposed ? 1 : k_w) * out_c;
    int32_t pitch = 1, first, ic, m, i, j;
    vplane_t vp;
    if (p->depth_multiplier == 1 && out_h * out_w * p->filter_h * p->filter_w <= 150 &&
        (input != output || out_h * out_w == 1)) {
        depthwise_mve_pixels(p, o, input, filter, output);
        return;
    }
    while (pitch < line) {
        pitch *= 2;
    }
    vp.plane = plane;
    vp.pitch = pitch;
    vp.out_a = transposed ? out_h : out_w;
    vp.out_b = transposed ? out_w : out_h;
    vp.step_a = transposed ? p->stride_h : p->stride_w;
    vp.step_b = (transposed ? p->stride_w : p->stride_h) * pitch;
    vp.tap_a = transposed ? p->dilation_h : p->dilation_w;
    vp.tap_b = (transposed ? p->dilation_w : p->dilation_h) * pitch;
    vp.k_a = transposed ? p->filter_h : p->filter_w;
    vp.k_b = transposed ? p->filter_w : p->filter_h;
    vp.out_step_a = transposed ? out_w * out_c : out_c;
    vp.out_step_b = transposed ? out_c : out_w * out_c;
    first = transposed ? p->pad_w * pitch + p->pad_h : p->pad_h * pitch + p->pad_w;
    for (i = 0; i < lines * pitch; i += 16) {
        vstrbq_p_s8(plane + i, zero_point, vctp8q((uint32_t)(lines * pitch - i)));
    }
    for (ic = 0; ic < p->in_c; ++ic) {
        fill_vplane(input + ic, &vp, transposed ? fill_h : fill_w, transposed ? fill_w : fill_h,
                    transposed ? row : p->in_c, transposed ? p->in_c : row, first);
        for (m = 0; m < p->depth_multiplier; ++m) {
            const int32_t oc = ic * p->depth_multiplier + m;
            const int32_t b = bias != 0 ? bias[oc] : 0;
            if (vp.k_a == 3 && vp.k_b == 3 && vp.tap_a == 1 && vp.step_a == 1) {
                int32_t w[9];
                for (j = 0; j < 3; ++j) {
                    for (i = 0; i < 3; ++i) {
                        w[i + 3 * j] = TM_W8(&filter[i * fa + j * fb + oc]);
                    }
                }
                vsums_3x3(&vp, w, b, sums);
            } else if (vp.k_b == 1 && vp.tap_a == 1 && vp.k_a >= 4 && vp.k_a <= 16) {
                vsums_dot(&vp, filter + oc, fa, b, sums);
            } else {
                vsums_any(&vp, filter + oc, fa, fb, b, sums);
            }
            voutputs(o, &vp, oc, sums, output + oc);
        }
    }
}
#endif

void tm_depthwise_conv2d_s8(const tm_conv_params_t *p, const tm_requant_t *q, const int8_t *input,
                            const int8_t *filter, const int32_t *bias, int8_t *output,
                            int16_t *plane)
{
    const int32_t plane_h = (p->out_h - 1) * p->stride_h + (p->filter_h - 1) * p->dilation_h + 1;
    const int32_t plane_w = (p->out_w - 1) * p->stride_w + (p->filter_w - 1) * p->dilation_w + 1;
    const tm_out_t o = tm_conv_output(p, q, bias);
    int8_t *bytes = (int8_t *)(void *)plane;
    int32_t *sums = (int32_t *)(void *)(bytes + dw_plane_bytes(p, plane_h, plane_w));
#if defined(TM_MVE)
    depthwise_mve(p, &o, input, filter, bias, output, bytes, plane_h, plane_w, sums);
#else
    const int fast = p->filter_h == 3 && p->filter_w == 3 && p->dilation_h == 1 &&
                     p->dilation_w == 1;
    const int32_t pixels = (int32_t)p->out_h * p->out_w;
    plane_t pl;
    int32_t ic, m;
#if defined(TM_SIMD)
    /* taps adjacent in the plane: a row of them, or a column over a 1-wide map */
    const int32_t taps = (int32_t)p->filter_h * p->filter_w;
    const int line = taps <= 32 && ((p->filter_h == 1 && p->dilation_w == 1) ||
                                    (p->filter_w == 1 && p->out_w == 1 && p->dilation_h == 1));
#endif
    pl.plane = plane;
    pl.plane_w = plane_w;
    pl.out_h = p->out_h;
    pl.out_w = p->out_w;
    pl.stride_h = p->stride_h;
    pl.stride_w = p->stride_w;
    pl.out_step = p->out_c;
    for (ic = 0; ic < plane_h * plane_w; ++ic) {
        plane[ic] = (int16_t)-p->input_offset;
    }
    for (ic = 0; ic < p->in_c; ++ic) {
        fill_plane(p, input, ic, &pl, plane_h);
        for (m = 0; m < p->depth_multiplier; ++m) {
            const int32_t oc = ic * p->depth_multiplier + m;
            if (fast) {
                sums_3x3(&pl, filter, p->out_c, oc, bias != 0 ? TM_W32(&bias[oc]) : 0, sums);
                channel_outputs(&o, oc, sums, pixels, output + oc, p->out_c);
#if defined(TM_SIMD)
            } else if (line) {
                sums_line(&pl, filter + oc, taps, p->out_c, bias != 0 ? bias[oc] : 0, sums);
                channel_outputs(&o, oc, sums, pixels, output + oc, p->out_c);
#endif
            } else {
                channel_any(p, &pl, filter, oc, &o, output);
            }
        }
    }
#endif
}

/* CONV_2D, int8, per-channel requantization.
 *
 * The input offset is folded into the bias at compile time (bias += input_offset * sum(w)),
 * so the kernel multiplies raw int8 values; padding is then the input zero point, which is
 * what TFLite's padding means. Each output pixel's patch is gathered into scratch; the DSP
 * and Helium paths gather four, lay them out as columns (widened to int16 on the DSP path)
 * and hand them to the shared matrix kernels (tm_gemm.c).
 *
 * Scratch: the patch work area (TM_COLS_BYTES(k) + k rounded up to 4 + 4 out_c bytes, k =
 * filter_h * filter_w * in_c), then, in place, the ring and the row below.
 * In place (output == input; the compiler only plans it for stride 1, "same" size and
 * in_c == out_c): output row y is computed into scratch, input row y is saved in a ring of
 * the last pad_h input rows, then row y is overwritten. Rows above y are read from the ring,
 * so no input is lost before its last use. */
#include "tm_gemm.h"
#include "tm_kernels.h"
#include "tm_math.h"
#include "tm_mve.h"
#include "tm_simd.h"

typedef struct {
    const tm_conv_params_t *p;
    const int8_t *input;
    const int8_t *saved; /* in place: input rows current - pad_h .. current - 1, as a ring */
    int32_t row_bytes;
    int current;         /* in place: rows from here down still hold input */
} rows_t;

static const int8_t *input_row(const rows_t *r, int iy)
{
    if (iy < 0 || iy >= r->p->in_h) {
        return 0;
    }
    if (r->saved != 0 && iy < r->current) {
        return r->saved + (iy % r->p->pad_h) * r->row_bytes;
    }
    return r->input + iy * r->row_bytes;
}

static int8_t *fill(int8_t *dst, int8_t value, int32_t n)
{
    int32_t i;
#if defined(TM_MVE)
    const int8x16_t v = vdupq_n_s8(value);
    for (i = 0; i < n; i += 16) {
        vstrbq_p_s8(dst + i, v, vctp8q((uint32_t)(n - i)));
    }
#else
    for (i = 0; i < n; ++i) {
        dst[i] = value;
    }
#endif
    return dst + n;
}

/* Gathers the patch of output pixel (oy, ox) as raw int8 values, the padding as the input
 * zero point (which the folded bias turns into a zero contribution). Taps kx in [lo, hi)
 * fall inside the input row; the others are padding. */
static void gather(const rows_t *r, int oy, int ox, int8_t *patch)
{
    const tm_conv_params_t *p = r->p;
    const int8_t zero_point = (int8_t)-p->input_offset;
    const int32_t in_c = p->in_c, filter_w = p->filter_w, dilation_w = p->dilation_w;
    const int32_t filter_h = p->filter_h, dilation_h = p->dilation_h;
    const int32_t x0 = (int32_t)ox * p->stride_w - p->pad_w;
    const int32_t y0 = (int32_t)oy * p->stride_h - p->pad_h;
    int32_t lo = x0 < 0 ? (dilation_w - 1 - x0) / dilation_w : 0;
    int32_t hi = x0 >= p->in_w ? 0 : (p->in_w - x0 + dilation_w - 1) / dilation_w;
    int32_t ky, kx;
    lo = lo < filter_w ? lo : filter_w;
    hi = hi < filter_w ? hi : filter_w;
    hi = hi > lo ? hi : lo;
    for (ky = 0; ky < filter_h; ++ky) {
        const int8_t *row = input_row(r, (int)(y0 + ky * dilation_h));
        if (row == 0) {
            patch = fill(patch, zero_point, filter_w * in_c);
            continue;
        }
        patch = fill(patch, zero_point, lo * in_c);
        if (dilation_w == 1) {
            patch = tm_copy_s8(patch, row + (x0 + lo) * in_c, (hi - lo) * in_c);
        } else {
            for (kx = lo; kx < hi; ++kx) {
                patch = tm_copy_s8(patch, row + (x0 + kx * dilation_w) * in_c, in_c);
            }
        }
        patch = fill(patch, zero_point, (filter_w - hi) * in_c);
    }
}

#if defined(TM_SIMD) || defined(TM_MVE)
/* Output pixels first .. last (row-major indices) into out, which holds pixel `first`:
 * four at a time, through the shared matrix kernel; a last, partial block goes through
 * `partial` (4 * out_c bytes). */
static void output_pixels(const rows_t *r, const tm_out_t *o, const int8_t *filter,
                          int32_t first, int32_t last, int8_t *out, int16_t *scratch)
{
    const tm_conv_params_t *p = r->p;
    const int32_t k = (int32_t)p->filter_h * p->filter_w * p->in_c;
    int8_t *patch = (int8_t *)(void *)scratch + TM_COLS_BYTES(k);
    int8_t *partial = patch + ((k + 3) & ~3);
    int32_t i;
    int c;
    for (i = first; i <= last; i += 4) {
        const int32_t count = last - i + 1 < 4 ? last - i + 1 : 4;
        for (c = 0; c < 4; ++c) { /* past the end: repeat the last pixel */
            const int32_t pixel = i + (c < count ? c : count - 1);
            gather(r, (int)(pixel / p->out_w), (int)(pixel % p->out_w), patch);
#if defined(TM_MVE)
            tm_mve_cols_put(patch, (int8_t *)(void *)scratch, k, c);
#else
            tm_cols_widen(patch, (int32_t *)(void *)scratch, k, c);
#endif
        }
#if defined(TM_MVE)
        tm_mve_gemm_4col_s8(o, k, p->out_c, (const int8_t *)(void *)scratch, filter,
                            out + (i - first) * p->out_c, count, partial);
#else
        tm_gemm_4col_s8(o, k, p->out_c, (const int32_t *)(void *)scratch, filter,
                        out + (i - first) * p->out_c, count, partial);
#endif
    }
}

/* Output row oy into out (out_w * out_c values). */
static void output_row(const rows_t *r, const tm_out_t *o, const int8_t *filter, int oy,
                       int8_t *out, int16_t *scratch)
{
    output_pixels(r, o, filter, (int32_t)oy * r->p->out_w, (int32_t)(oy + 1) * r->p->out_w - 1,
                  out, scratch);
}
#else
static void output_row(const rows_t *r, const tm_out_t *o, const int8_t *filter, int oy,
                       int8_t *out, int16_t *scratch)
{
    const tm_conv_params_t *p = r->p;
    const int32_t k = (int32_t)p->filter_h * p->filter_w * p->in_c;
    int8_t *patch = (int8_t *)(void *)scratch;
    int ox, oc;
    int32_t i;
    for (ox = 0; ox < p->out_w; ++ox) {
        gather(r, oy, ox, patch);
        for (oc = 0; oc < p->out_c; ++oc) {
            const int8_t *w = filter + (int32_t)oc * k;
            int32_t acc = 0;
            for (i = 0; i < k; ++i) {
                acc += (int32_t)patch[i] * TM_W8(&w[i]);
            }
            out[ox * p->out_c + oc] = tm_output(o, oc, acc);
        }
    }
}
#endif

void tm_conv2d_s8(const tm_conv_params_t *p, const tm_requant_t *q, const int8_t *input,
                  const int8_t *filter, const int32_t *bias, int8_t *output, int16_t *scratch)
{
    const int32_t k = (int32_t)p->filter_h * p->filter_w * p->in_c;
    const int32_t out_row_bytes = (int32_t)p->out_w * p->out_c;
    const tm_out_t o = tm_conv_output(p, q, bias);
    rows_t r;
    int oy;
    r.p = p;
    r.input = input;
    r.saved = 0;
    r.row_bytes = (int32_t)p->in_w * p->in_c;
    r.current = 0;
    if (input != output) {
#if defined(TM_SIMD) || defined(TM_MVE)
        /* blocks of four pixels run across row ends: no lanes wasted on narrow outputs */
        output_pixels(&r, &o, filter, 0, (int32_t)p->out_h * p->out_w - 1, output, scratch);
#else
        for (oy = 0; oy < p->out_h; ++oy) {
            output_row(&r, &o, filter, oy, output + oy * out_row_bytes, scratch);
        }
#endif
        return;
    }
    {
        /* scratch: the patch work area, the ring of pad_h input rows, one output row */
        int8_t *saved =
            (int8_t *)(void *)scratch + TM_COLS_BYTES(k) + ((k + 3) & ~3) + 4 * p->out_c;
        int8_t *row_out = saved + p->pad_h * r.row_bytes;
        r.saved = saved;
        for (oy = 0; oy < p->out_h; ++oy) {
            int8_t *row = output + oy * out_row_bytes;
            r.current = oy;
            output_row(&r, &o, filter, oy, row_out, scratch);
            if (p->pad_h > 0) {
                tm_copy_s8(saved + (oy % p->pad_h) * r.row_bytes, row, r.row_bytes);
            }
            tm_copy_s8(row, row_out, out_row_bytes);
        }
    }
}

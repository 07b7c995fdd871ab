/* CONV_2D, int8, per-channel requantization.
 *
 * Out-of-bounds taps contribute nothing, which is what padding with the input zero point
 * means once the input offset is applied. The SIMD path gathers the patches of four output
 * pixels, offset applied and widened to int16 (padding = 0), and hands them to the shared
 * matrix kernel (tm_gemm.h).
 *
 * In place (output == input; the compiler only plans it for stride 1, "same" size and
 * in_c == out_c): output row y is computed into scratch, input row y is saved in a ring of
 * the last pad_h input rows, then row y is overwritten. Rows above y are read from the ring,
 * so no input is lost before its last use. */
#include "tm_gemm.h"
#include "tm_kernels.h"
#include "tm_math.h"
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

#if defined(TM_SIMD)
/* Gathers the patch of output pixel (oy, ox) into column c: offset applied, padding 0. */
static void gather(const rows_t *r, int oy, int ox, int16_t *cols, int32_t c, int32_t k)
{
    const tm_conv_params_t *p = r->p;
    int32_t j = 0;
    int ky, kx, ic;
    for (ky = 0; ky < p->filter_h; ++ky) {
        const int8_t *row = input_row(r, oy * p->stride_h - p->pad_h + ky * p->dilation_h);
        for (kx = 0; kx < p->filter_w; ++kx) {
            const int in_x = ox * p->stride_w - p->pad_w + kx * p->dilation_w;
            const int inside = row != 0 && in_x >= 0 && in_x < p->in_w;
            const int8_t *x = inside ? row + in_x * p->in_c : 0;
            for (ic = 0; ic < p->in_c; ++ic, ++j) {
                cols[tm_cols_slot(j, c, k)] = (int16_t)(inside ? x[ic] + p->input_offset : 0);
            }
        }
    }
}

/* Output pixels first .. last (row-major indices) into out, which holds pixel `first`:
 * four at a time, through the shared matrix kernel. */
static void output_pixels(const rows_t *r, const tm_out_t *o, const int8_t *filter,
                          int32_t first, int32_t last, int8_t *out, int16_t *cols)
{
    const tm_conv_params_t *p = r->p;
    const int32_t k = (int32_t)p->filter_h * p->filter_w * p->in_c;
    int32_t i;
    int c;
    for (i = first; i <= last; i += 4) {
        int8_t *dst[4];
        for (c = 0; c < 4; ++c) { /* past the end: repeat the last pixel */
            const int32_t pixel = i + c < last ? i + c : last;
            gather(r, (int)(pixel / p->out_w), (int)(pixel % p->out_w), cols, c, k);
            dst[c] = out + (pixel - first) * p->out_c;
        }
        tm_gemm_4col_s8(o, k, p->out_c, cols, filter, dst[0], dst[1], dst[2], dst[3]);
    }
}

/* Output row oy into out (out_w * out_c values). */
static void output_row(const rows_t *r, const tm_out_t *o, const int8_t *filter, int oy,
                       int8_t *out, int16_t *cols)
{
    output_pixels(r, o, filter, (int32_t)oy * r->p->out_w, (int32_t)(oy + 1) * r->p->out_w - 1,
                  out, cols);
}
#else
static void output_row(const rows_t *r, const tm_out_t *o, const int8_t *filter, int oy,
                       int8_t *out, int16_t *patch)
{
    const tm_conv_params_t *p = r->p;
    int ox, oc, ky, kx, ic;
    (void)patch;
    for (ox = 0; ox < p->out_w; ++ox) {
        for (oc = 0; oc < p->out_c; ++oc) {
            const int8_t *w = filter + (int32_t)oc * p->filter_h * p->filter_w * p->in_c;
            int32_t acc = 0;
            for (ky = 0; ky < p->filter_h; ++ky) {
                const int8_t *row = input_row(r, oy * p->stride_h - p->pad_h + ky * p->dilation_h);
                if (row == 0) {
                    continue;
                }
                for (kx = 0; kx < p->filter_w; ++kx) {
                    const int in_x = ox * p->stride_w - p->pad_w + kx * p->dilation_w;
                    const int8_t *x = row + in_x * p->in_c;
                    const int8_t *wk = w + ((int32_t)ky * p->filter_w + kx) * p->in_c;
                    if (in_x < 0 || in_x >= p->in_w) {
                        continue;
                    }
                    for (ic = 0; ic < p->in_c; ++ic) {
                        acc += ((int32_t)x[ic] + p->input_offset) * TM_W8(&wk[ic]);
                    }
                }
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
#if defined(TM_SIMD)
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
        /* scratch: patches (4k int16), the ring of pad_h input rows, one output row */
        int8_t *saved = (int8_t *)(void *)(scratch + 4 * k);
        int8_t *row_out = saved + p->pad_h * r.row_bytes;
        int32_t i;
        r.saved = saved;
        for (oy = 0; oy < p->out_h; ++oy) {
            int8_t *row = output + oy * out_row_bytes;
            r.current = oy;
            output_row(&r, &o, filter, oy, row_out, scratch);
            if (p->pad_h > 0) {
                int8_t *slot = saved + (oy % p->pad_h) * r.row_bytes;
                for (i = 0; i < r.row_bytes; ++i) {
                    slot[i] = row[i];
                }
            }
            for (i = 0; i < out_row_bytes; ++i) {
                row[i] = row_out[i];
            }
        }
    }
}

/* Internal: the SIMD matrix kernel shared by CONV_2D and its 1x1 form, inlined into both:
 * two input columns (pixels or patches, int16) against every filter row (int8), two rows at
 * a time, so every weight word serves two columns and every input word two rows.
 *
 * For every filter row oc (n int8 values): out_a[oc] from column xa and out_b[oc] from
 * column xa + n, both n int16 values, the first n & ~3 in SXTB16 order. */
#ifndef TM_GEMM_H
#define TM_GEMM_H

#include "tm_math.h"
#include "tm_simd.h"

#if defined(TM_SIMD)
static inline void tm_gemm_2col_s8(const tm_out_t *o, int32_t n, int32_t rows,
                                   const int16_t *xa, const int8_t *filter, int8_t *out_a,
                                   int8_t *out_b)
{
    const int32_t whole = n & ~3;
    const int16_t *xb = xa + n;
    int32_t oc;
    for (oc = 0; oc < rows; oc += 2) {
        const int8_t *w = filter + oc * n;
        const int32_t w_step = oc + 1 < rows ? n : 0; /* odd count: the last row twice */
        const int8_t *end = w + whole;
        const int16_t *pa = xa;
        int32_t a0 = 0, a1 = 0, b0 = 0, b1 = 0, i;
        while (w < end) {
            const int32_t v0 = tm_load32(w);
            const int32_t v1 = tm_load32(w + w_step);
            const int32_t w0e = __sxtb16(v0), w0o = tm_sxtb16_odd(v0);
            const int32_t w1e = __sxtb16(v1), w1o = tm_sxtb16_odd(v1);
            int32_t x = tm_load32(pa);
            a0 = __smlad(x, w0e, a0);
            a1 = __smlad(x, w1e, a1);
            x = tm_load32(pa + 2);
            a0 = __smlad(x, w0o, a0);
            a1 = __smlad(x, w1o, a1);
            x = tm_load32(pa + n);
            b0 = __smlad(x, w0e, b0);
            b1 = __smlad(x, w1e, b1);
            x = tm_load32(pa + n + 2);
            b0 = __smlad(x, w0o, b0);
            b1 = __smlad(x, w1o, b1);
            w += 4;
            pa += 4;
        }
        for (i = whole; i < n; ++i) { /* the last n % 4 values are in natural order */
            const int32_t v0 = w[i - whole], v1 = w[i - whole + w_step];
            a0 += xa[i] * v0;
            a1 += xa[i] * v1;
            b0 += xb[i] * v0;
            b1 += xb[i] * v1;
        }
        out_a[oc] = tm_output(o, oc, a0);
        out_b[oc] = tm_output(o, oc, b0);
        if (w_step != 0) {
            out_a[oc + 1] = tm_output(o, oc + 1, a1);
            out_b[oc + 1] = tm_output(o, oc + 1, b1);
        }
    }
}
#endif

#endif

/* Internal: the SIMD matrix kernel shared by CONV_2D and its 1x1 form, inlined into both.
 *
 * Four input columns (pixels, or patches of pixels) are widened to int16 and interleaved by
 * groups of four values: for group g, column c holds x0 x2 x1 x3 (SXTB16 order) at
 * cols[16 g + 4 c]. Each filter row (int8) is then loaded and widened once per group for all
 * four columns, and every load is at a fixed offset from one pointer: 16 MACs for 8 SMLAD,
 * 8 loads and 2 SXTB16, with few enough live registers for the compiler to spill none.
 * Values past the last whole group (n % 4 of them) follow, column after column. */
#ifndef TM_GEMM_H
#define TM_GEMM_H

#include "tm_math.h"
#include "tm_simd.h"

#if defined(TM_SIMD)
/* Where value j of column c goes in the interleaved layout of n values per column. */
static inline int32_t tm_cols_slot(int32_t j, int32_t c, int32_t n)
{
    const int32_t whole = n & ~3;
    if (j >= whole) {
        return 4 * whole + c * (n - whole) + (j - whole);
    }
    return 16 * (j >> 2) + 4 * c + ((j & 1) << 1) + ((j & 2) >> 1);
}

/* Widens n int8 values (n a multiple of 4) into column c of the interleaved layout. */
static inline void tm_cols_widen(const int8_t *x, int16_t *cols, int32_t n, int32_t c)
{
    int16_t *dst = cols + 4 * c;
    int32_t i;
    for (i = 0; i < n; i += 4, dst += 16) {
        const int32_t v = tm_load32(x + i);
        tm_store32(dst, __sxtb16(v));
        tm_store32(dst + 2, tm_sxtb16_odd(v));
    }
}

/* For every filter row oc (n int8 values): out0[oc] .. out3[oc] from columns 0 .. 3. */
static inline void tm_gemm_4col_s8(const tm_out_t *stage, int32_t n, int32_t rows,
                                   const int16_t *cols, const int8_t *filter, int8_t *out0,
                                   int8_t *out1, int8_t *out2, int8_t *out3)
{
    const tm_out_t o = *stage; /* a local copy: int8 stores cannot alias it */
    const int32_t whole = n & ~3;
    const int32_t tail = n - whole;
    const int16_t *tails = cols + 4 * whole;
    int32_t oc, i;
    for (oc = 0; oc < rows; ++oc) {
        const int8_t *w = filter + oc * n;
        const int8_t *end = w + whole;
        const int16_t *c = cols;
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        tm_channel_t ch;
        while (w < end) {
            const int32_t v = tm_load32(w);
            const int32_t we = __sxtb16(v);
            const int32_t wo = tm_sxtb16_odd(v);
            a0 = __smlad(tm_load32(c), we, a0);
            a0 = __smlad(tm_load32(c + 2), wo, a0);
            a1 = __smlad(tm_load32(c + 4), we, a1);
            a1 = __smlad(tm_load32(c + 6), wo, a1);
            a2 = __smlad(tm_load32(c + 8), we, a2);
            a2 = __smlad(tm_load32(c + 10), wo, a2);
            a3 = __smlad(tm_load32(c + 12), we, a3);
            a3 = __smlad(tm_load32(c + 14), wo, a3);
            w += 4;
            c += 16;
        }
        for (i = 0; i < tail; ++i) {
            const int32_t v = w[i];
            a0 += tails[i] * v;
            a1 += tails[tail + i] * v;
            a2 += tails[2 * tail + i] * v;
            a3 += tails[3 * tail + i] * v;
        }
        ch = tm_channel(&o, oc);
        if (ch.narrow) {
            out0[oc] = tm_channel_output_narrow(&ch, a0);
            out1[oc] = tm_channel_output_narrow(&ch, a1);
            out2[oc] = tm_channel_output_narrow(&ch, a2);
            out3[oc] = tm_channel_output_narrow(&ch, a3);
        } else {
            out0[oc] = tm_channel_output(&ch, a0);
            out1[oc] = tm_channel_output(&ch, a1);
            out2[oc] = tm_channel_output(&ch, a2);
            out3[oc] = tm_channel_output(&ch, a3);
        }
    }
}
#endif

#endif

/* Internal: the matrix kernels shared by CONV_2D and its 1x1 form (tm_gemm.c, compiled once).
 *
 * DSP path (TM_SIMD):
 * Four input columns (pixels, or patches of pixels) are widened to int16 and interleaved by
 * groups of four values: for group g, column c holds the words (x0 x2) (x1 x3) (SXTB16
 * order) at cols[8 g + 2 c] and cols[8 g + 2 c + 1], one LDRD apart. Each filter row (int8)
 * is then loaded and widened once per group for all four columns: 16 MACs for 8 SMLAD, one
 * LDR, 4 LDRD and 2 SXTB16. Values past the last whole group (n % 4 of them) follow as int16,
 * column after column.
 *
 * The four outputs of row oc go to out[oc], out[rows + oc], ...: four consecutive pixels of
 * `rows` channels each. The accumulators start at the bias (the input offset is folded into
 * it at compile time).
 *
 * Helium path (TM_MVE, which takes precedence): the four columns stay raw int8, interleaved by
 * chunks of 16 values (chunk g of column c at cols[64 g + 16 c]) so that one pointer with
 * fixed offsets reaches all four. Two filter rows at a time: per chunk, two weight vectors and
 * four column vectors feed eight VMLADAVA, 128 MACs in 14 instructions. A last chunk of fewer
 * than 16 values loads its weights with a predicate (the missing ones read as 0, so whatever
 * the columns hold there adds nothing). The four outputs of a row go through the vector
 * output stage together and reach out[oc], out[rows + oc], ... in one scatter store. */
#ifndef TM_GEMM_H
#define TM_GEMM_H

#include "tm_math.h"
#include "tm_mve.h"
#include "tm_simd.h"

/* Bytes of the column work area for four columns of n values: the DSP path's widened int16
 * columns or the Helium path's chunks of 16, whichever is larger (the compiler sizes scratch
 * with the same formula, tinyml/compile/ops/conv2d.py). */
#define TM_COLS_BYTES(n) \
    ((8 * (n)) > (64 * (((n) + 15) / 16)) ? (8 * (n)) : (64 * (((n) + 15) / 16)))

#if defined(TM_MVE)
/* Copies n raw int8 values into column c of the interleaved layout. */
static inline void tm_mve_cols_put(const int8_t *x, int8_t *cols, int32_t n, int32_t c)
{
    int8_t *dst = cols + 16 * c;
    int32_t i;
    for (i = 0; i + 16 <= n; i += 16, dst += 64) {
        vstrbq_s8(dst, vldrbq_s8(x + i));
    }
    if (i < n) {
        const mve_pred16_t p = vctp8q((uint32_t)(n - i));
        vstrbq_p_s8(dst, vldrbq_z_s8(x + i, p), p);
    }
}

/* The outputs of the four columns into out, for every filter row. Only the first `count`
 * columns are real pixels (the others repeat the last): then the block goes through
 * `partial` (4 * rows bytes) and only those pixels reach out. */
void tm_mve_gemm_4col_s8(const tm_out_t *stage, int32_t n, int32_t rows, const int8_t *cols,
                         const int8_t *filter, int8_t *out, int32_t count, int8_t *partial);
#endif

#if defined(TM_SIMD) && !defined(TM_MVE)
/* Widens n raw int8 values into column c of the interleaved layout of n values per column. */
static inline void tm_cols_widen(const int8_t *x, int32_t *cols, int32_t n, int32_t c)
{
    const int32_t whole = n & ~3, tail = n - whole;
    int32_t *dst = cols + 2 * c;
    int16_t *tails = (int16_t *)(void *)(cols + 2 * whole) + c * tail;
    int32_t i;
    for (i = 0; i < whole; i += 4, dst += 8) {
        const int32_t v = tm_load32(x + i);
        dst[0] = __sxtb16(v);
        dst[1] = tm_sxtb16_odd(v);
    }
    for (i = 0; i < tail; ++i) {
        tails[i] = x[whole + i];
    }
}

/* As tm_mve_gemm_4col_s8, on the widened columns. */
void tm_gemm_4col_s8(const tm_out_t *stage, int32_t n, int32_t rows, const int32_t *cols,
                     const int8_t *filter, int8_t *out, int32_t count, int8_t *partial);
#endif

#endif

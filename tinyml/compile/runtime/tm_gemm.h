/* Internal: the SIMD matrix kernel shared by CONV_2D and its 1x1 form, compiled into both.
 *
 * Four input columns (pixels, or patches of pixels) are widened to int16 and interleaved by
 * groups of four values: for group g, column c holds the words (x0 x2) (x1 x3) (SXTB16
 * order) at cols[8 g + 2 c] and cols[8 g + 2 c + 1], one LDRD apart. Each filter row (int8)
 * is then loaded and widened once per group for all four columns: 16 MACs for 8 SMLAD, one
 * LDR, 4 LDRD and 2 SXTB16. Values past the last whole group (n % 4 of them) follow as int16,
 * column after column.
 *
 * The four outputs of row oc go to out[oc], out[rows + oc], ...: four consecutive pixels of
 * `rows` channels each. The accumulators start at the bias (the input offset is folded into
 * it at compile time). */
#ifndef TM_GEMM_H
#define TM_GEMM_H

#include "tm_math.h"
#include "tm_simd.h"

#if defined(TM_SIMD)
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

/* One group of four values of a filter row against the four columns: 16 MACs in 15
 * instructions. In assembly because GCC's Cortex-M4 tuning splits every 64-bit load into two
 * LDRs; the memory operands tell the compiler what it reads. */
typedef struct { int8_t v[4]; } tm_group_t;  /* what the assembly reads, for the compiler */
typedef struct { int32_t v[8]; } tm_cols_t;

/* The inputs of that assembly: the memory it reads. At -O0 the two memory operands need
 * address registers of their own (nothing is shared between operands, r7 is the frame
 * pointer): twelve registers in all, which GCC's -O0 allocator fails to find with a
 * hard-float ABI ("impossible constraints"). There the asm says it may read any memory
 * instead, which costs nothing where every value lives in memory anyway; optimised builds
 * keep the exact operands, and their code. */
#if defined(__OPTIMIZE__)
#define TM_MAC_GROUP_READS(w, c) \
    : "m"(*(const tm_group_t *)(const void *)(w)), "m"(*(const tm_cols_t *)(const void *)(c))
#else
#define TM_MAC_GROUP_READS(w, c) : : "memory"
#endif

static inline void tm_mac_group(const int8_t **w, const int32_t **c, int32_t *a0, int32_t *a1,
                                int32_t *a2, int32_t *a3)
{
    int32_t even, odd, x, y;
    __asm__("ldr     %[even], [%[w]], #4\n\t"
            "sxtb16  %[odd], %[even], ror #8\n\t"
            "sxtb16  %[even], %[even]\n\t"
            "ldrd    %[x], %[y], [%[c]], #8\n\t"
            "smlad   %[a0], %[x], %[even], %[a0]\n\t"
            "smlad   %[a0], %[y], %[odd], %[a0]\n\t"
            "ldrd    %[x], %[y], [%[c]], #8\n\t"
            "smlad   %[a1], %[x], %[even], %[a1]\n\t"
            "smlad   %[a1], %[y], %[odd], %[a1]\n\t"
            "ldrd    %[x], %[y], [%[c]], #8\n\t"
            "smlad   %[a2], %[x], %[even], %[a2]\n\t"
            "smlad   %[a2], %[y], %[odd], %[a2]\n\t"
            "ldrd    %[x], %[y], [%[c]], #8\n\t"
            "smlad   %[a3], %[x], %[even], %[a3]\n\t"
            "smlad   %[a3], %[y], %[odd], %[a3]"
            : [w] "+r"(*w), [c] "+r"(*c), [a0] "+r"(*a0), [a1] "+r"(*a1), [a2] "+r"(*a2),
              [a3] "+r"(*a3), [even] "=&r"(even), [odd] "=&r"(odd), [x] "=&r"(x), [y] "=&r"(y)
            TM_MAC_GROUP_READS(*w, *c));
}

/* Rows 0 .. rows-1 of the filter (n int8 values each) against the four columns; `stage` is a
 * constant at each call, so the compiler makes one loop per output stage. */
TM_INLINE void tm_gemm_4col_run(const tm_out_t *o, int32_t n, int32_t rows, const int32_t *cols,
                                const int8_t *filter, int8_t *out, int stage)
{
    const int32_t whole = n & ~3;
    const int32_t tail = n - whole;
    const int16_t *tails = (const int16_t *)(const void *)(cols + 2 * whole);
    const int8_t *w = filter;
    int32_t oc, i;
    for (oc = 0; oc < rows; ++oc, ++out) {
        const int8_t *end = w + whole;
        const int8_t *pairs_end = w + (whole & ~7);
        const int32_t *c = cols;
        const int32_t bias = o->bias != 0 ? o->bias[oc] : 0;
        int32_t a0 = bias, a1 = bias, a2 = bias, a3 = bias;
        while (w < pairs_end) { /* two groups a pass: half the loop overhead */
            tm_mac_group(&w, &c, &a0, &a1, &a2, &a3);
            tm_mac_group(&w, &c, &a0, &a1, &a2, &a3);
        }
        if (w < end) {
            tm_mac_group(&w, &c, &a0, &a1, &a2, &a3);
        }
        for (i = 0; i < tail; ++i, ++w) {
            const int32_t v = *w;
            a0 += tails[i] * v;
            a1 += tails[tail + i] * v;
            a2 += tails[2 * tail + i] * v;
            a3 += tails[3 * tail + i] * v;
        }
        if (stage != TM_GENERAL) {
            const tm_fast_t f = tm_fast_channel(o, oc);
            out[0] = tm_fast_output(&f, a0, stage, o->lo, o->hi);
            out[rows] = tm_fast_output(&f, a1, stage, o->lo, o->hi);
            out[2 * rows] = tm_fast_output(&f, a2, stage, o->lo, o->hi);
            out[3 * rows] = tm_fast_output(&f, a3, stage, o->lo, o->hi);
        } else {
            tm_channel_t ch = tm_channel(o, oc);
            ch.bias = 0; /* already in the accumulators */
            out[0] = tm_channel_output(&ch, a0);
            out[rows] = tm_channel_output(&ch, a1);
            out[2 * rows] = tm_channel_output(&ch, a2);
            out[3 * rows] = tm_channel_output(&ch, a3);
        }
    }
}

/* The outputs of the four columns into out, for every filter row. Only the first `count`
 * columns are real pixels (the others repeat the last): then the block goes through
 * `partial` (4 * rows bytes) and only those pixels reach out. */
TM_NOINLINE static void tm_gemm_4col_s8(const tm_out_t *stage, int32_t n, int32_t rows,
                                        const int32_t *cols, const int8_t *filter, int8_t *out,
                                        int32_t count, int8_t *partial)
{
    const tm_out_t o = *stage; /* a local copy: int8 stores cannot alias it */
    int8_t *dst = count == 4 ? out : partial;
    switch (tm_fast_stage(&o)) {
    case TM_FAST_SSAT:
        tm_gemm_4col_run(&o, n, rows, cols, filter, dst, TM_FAST_SSAT);
        break;
    case TM_FAST_CLAMP:
        tm_gemm_4col_run(&o, n, rows, cols, filter, dst, TM_FAST_CLAMP);
        break;
    default:
        tm_gemm_4col_run(&o, n, rows, cols, filter, dst, TM_GENERAL);
    }
    if (count < 4) {
        tm_copy_s8(out, partial, count * rows);
    }
}
#endif

#endif

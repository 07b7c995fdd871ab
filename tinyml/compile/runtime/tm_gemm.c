/* The matrix kernels of CONV_2D and its 1x1 form: one copy for both (tm_gemm.h says how the
 * columns are laid out). */
#include "tm_gemm.h"

#if defined(TM_MVE)
/* Row oc's four accumulators through the output stage, to out[oc + k * rows]. */
TM_INLINE void tm_mve_gemm_out(const tm_out_t *o, int32_t oc, int32x4_t acc, int8_t *out,
                               uint32x4_t steps, int32x4_t lo, int32x4_t hi, int narrow)
{
    const int32_t shift = o->shift[oc], m = o->multiplier[oc];
    int32x4_t v;
    if (narrow) {
        v = tm_mve_requant_narrow_n(acc, m, shift, o->offset, lo, hi);
    } else {
        v = tm_mve_requant_n(acc, m, shift > 0 ? shift : 0, shift < 0 ? shift : 0, o->offset,
                             lo, hi);
    }
    vstrbq_scatter_offset_s32(out + oc, steps, v);
}

/* One chunk of rows k0 and k1 against the four columns at c (c advanced by 64 before the
 * first load, so the others read at -48, -32, -16): `op` is vmladav for the first chunk (it
 * sets the accumulators), vmlava after. */
#define TM_MVE_CHUNK(op)                                \
    "vldrb.u8   %q[k0], [%[w0]], #16\n\t"               \
    "vldrb.u8   %q[k1], [%[w1]], #16\n\t"               \
    "vldrb.u8   %q[x], [%[c]], #64\n\t"                 \
    op ".s8  %[a0], %q[x], %q[k0]\n\t"                  \
    op ".s8  %[e0], %q[x], %q[k1]\n\t"                  \
    "vldrb.u8   %q[x], [%[c], #-48]\n\t"                \
    op ".s8  %[a1], %q[x], %q[k0]\n\t"                  \
    op ".s8  %[e1], %q[x], %q[k1]\n\t"                  \
    "vldrb.u8   %q[x], [%[c], #-32]\n\t"                \
    op ".s8  %[a2], %q[x], %q[k0]\n\t"                  \
    op ".s8  %[e2], %q[x], %q[k1]\n\t"                  \
    "vldrb.u8   %q[x], [%[c], #-16]\n\t"                \
    op ".s8  %[a3], %q[x], %q[k0]\n\t"                  \
    op ".s8  %[e3], %q[x], %q[k1]\n\t"

/* The whole chunks (chunks >= 1) of rows w0 and w1 against the four columns at c: 128 MACs
 * in 16 instructions a chunk. In assembly because the loop needs eight accumulators, each in
 * an even register (VMLADAVA's encoding), and a compiled loop takes the last one, lr, for
 * its counter; here the counter is a SUBS, and the first chunk's VMLADAV sets the
 * accumulators, so they need no start value. The "memory" clobber stands for the reads. */
#define TM_MVE_WHOLE_CHUNKS(c, w0, w1, chunks)                                              \
    __asm__(TM_MVE_CHUNK("vmladav")                                                         \
            "subs       %[n], %[n], #1\n\t"                                                 \
            "beq        2f\n"                                                               \
            "1:\n\t"                                                                        \
            TM_MVE_CHUNK("vmlava")                                                          \
            "subs       %[n], %[n], #1\n\t"                                                 \
            "bne        1b\n"                                                               \
            "2:"                                                                            \
            : [c] "+r"(c), [w0] "+r"(w0), [w1] "+r"(w1), [n] "+r"(chunks), [k0] "=&w"(k0),   \
              [k1] "=&w"(k1), [x] "=&w"(x), [a0] "=Te"(a0), [a1] "=Te"(a1), [a2] "=Te"(a2), \
              [a3] "=Te"(a3), [e0] "=Te"(e0), [e1] "=Te"(e1), [e2] "=Te"(e2), [e3] "=Te"(e3) \
            :                                                                               \
            : "cc", "memory")

/* Rows w0 and w1 (n values each, n >= 1) against the four columns: the four sums of each as
 * the lanes of *va and *ve. When has_tail (a constant at each call) the last n % 16 values
 * follow in C, their weights read under `tail`. At -O0 (a debug build) all in C. */
TM_INLINE void tm_mve_rows2(const int8_t *c, const int8_t *w0, const int8_t *w1, int32_t n,
                            mve_pred16_t tail, int has_tail, int32x4_t *va, int32x4_t *ve)
{
#if defined(__OPTIMIZE__)
    int32_t chunks = n >> 4;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, e0 = 0, e1 = 0, e2 = 0, e3 = 0;
    int8x16_t k0, k1, x;
    if (chunks > 0) {
        TM_MVE_WHOLE_CHUNKS(c, w0, w1, chunks);
    }
    if (has_tail) {
        k0 = vldrbq_z_s8(w0, tail);
        k1 = vldrbq_z_s8(w1, tail);
        x = vldrbq_s8(c);
        a0 = vmladavaq_s8(a0, x, k0);
        e0 = vmladavaq_s8(e0, x, k1);
        x = vldrbq_s8(c + 16);
        a1 = vmladavaq_s8(a1, x, k0);
        e1 = vmladavaq_s8(e1, x, k1);
        x = vldrbq_s8(c + 32);
        a2 = vmladavaq_s8(a2, x, k0);
        e2 = vmladavaq_s8(e2, x, k1);
        x = vldrbq_s8(c + 48);
        a3 = vmladavaq_s8(a3, x, k0);
        e3 = vmladavaq_s8(e3, x, k1);
    }
    *va = tm_mve_lanes(a0, a1, a2, a3);
    *ve = tm_mve_lanes(e0, e1, e2, e3);
#else
    int32_t a[4] = {0, 0, 0, 0}, e[4] = {0, 0, 0, 0};
    int32_t i;
    int k;
    for (i = 0; i < n; i += 16, c += 64, w0 += 16, w1 += 16) {
        const mve_pred16_t p = i + 16 <= n ? vctp8q(16u) : tail;
        const int8x16_t k0 = vldrbq_z_s8(w0, p), k1 = vldrbq_z_s8(w1, p);
        for (k = 0; k < 4; ++k) {
            const int8x16_t x = vldrbq_s8(c + 16 * k);
            a[k] = vmladavaq_s8(a[k], x, k0);
            e[k] = vmladavaq_s8(e[k], x, k1);
        }
    }
    (void)has_tail;
    *va = tm_mve_lanes(a[0], a[1], a[2], a[3]);
    *ve = tm_mve_lanes(e[0], e[1], e[2], e[3]);
#endif
}

/* Rows 0 .. rows-1 of the filter against the four columns; `narrow` and `has_tail` are
 * constants at each call. */
TM_INLINE void tm_mve_gemm_run(const tm_out_t *o, int32_t n, int32_t rows, const int8_t *cols,
                               const int8_t *filter, int8_t *out, int narrow, int has_tail)
{
    const int32_t chunks = n >> 4;
    const mve_pred16_t tail = vctp8q((uint32_t)(n & 15));
    const uint32x4_t steps = tm_mve_steps(rows);
    const int32x4_t lo = vdupq_n_s32(o->lo), hi = vdupq_n_s32(o->hi);
    int32_t oc = 0, g;
    for (; oc + 2 <= rows; oc += 2) {
        const int8_t *w0 = filter + oc * n;
        int32x4_t va, ve;
        tm_mve_rows2(cols, w0, w0 + n, n, tail, has_tail, &va, &ve);
        if (o->bias != 0) {
            va = vaddq_n_s32(va, o->bias[oc]);
            ve = vaddq_n_s32(ve, o->bias[oc + 1]);
        }
        tm_mve_gemm_out(o, oc, va, out, steps, lo, hi, narrow);
        tm_mve_gemm_out(o, oc + 1, ve, out, steps, lo, hi, narrow);
    }
    if (oc < rows) { /* an odd last row */
        const int8_t *w0 = filter + oc * n;
        const int8_t *c = cols;
        const int32_t b0 = o->bias != 0 ? o->bias[oc] : 0;
        int32_t a0 = b0, a1 = b0, a2 = b0, a3 = b0;
        for (g = 0; g < chunks; ++g, c += 64, w0 += 16) {
            const int8x16_t k0 = vldrbq_s8(w0);
            a0 = vmladavaq_s8(a0, vldrbq_s8(c), k0);
            a1 = vmladavaq_s8(a1, vldrbq_s8(c + 16), k0);
            a2 = vmladavaq_s8(a2, vldrbq_s8(c + 32), k0);
            a3 = vmladavaq_s8(a3, vldrbq_s8(c + 48), k0);
        }
        if (has_tail) {
            const int8x16_t k0 = vldrbq_z_s8(w0, tail);
            a0 = vmladavaq_s8(a0, vldrbq_s8(c), k0);
            a1 = vmladavaq_s8(a1, vldrbq_s8(c + 16), k0);
            a2 = vmladavaq_s8(a2, vldrbq_s8(c + 32), k0);
            a3 = vmladavaq_s8(a3, vldrbq_s8(c + 48), k0);
        }
        tm_mve_gemm_out(o, oc, tm_mve_lanes(a0, a1, a2, a3), out, steps, lo, hi, narrow);
    }
}

void tm_mve_gemm_4col_s8(const tm_out_t *stage, int32_t n, int32_t rows, const int8_t *cols,
                         const int8_t *filter, int8_t *out, int32_t count, int8_t *partial)
{
    const tm_out_t o = *stage; /* a local copy: int8 stores cannot alias it */
    int8_t *dst = count == 4 ? out : partial;
    if (o.narrow && (n & 15) != 0) {
        tm_mve_gemm_run(&o, n, rows, cols, filter, dst, 1, 1);
    } else if (o.narrow) {
        tm_mve_gemm_run(&o, n, rows, cols, filter, dst, 1, 0);
    } else if ((n & 15) != 0) {
        tm_mve_gemm_run(&o, n, rows, cols, filter, dst, 0, 1);
    } else {
        tm_mve_gemm_run(&o, n, rows, cols, filter, dst, 0, 0);
    }
    if (count < 4) {
        tm_copy_s8(out, partial, count * rows);
    }
}
#endif

#if defined(TM_SIMD) && !defined(TM_MVE)
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

void tm_gemm_4col_s8(const tm_out_t *stage, int32_t n, int32_t rows, const int32_t *cols,
                     const int8_t *filter, int8_t *out, int32_t count, int8_t *partial)
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

#if !defined(TM_SIMD) && !defined(TM_MVE)
/* The portable kernels multiply in their own loops: nothing here (ISO C wants a declaration). */
typedef int tm_gemm_unused_on_the_portable_path;
#endif

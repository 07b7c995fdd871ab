/* FULLY_CONNECTED, int8. The input offset is folded into the bias at compile time, so each
 * output is an int8 dot product, the bias, and one requantization.
 *
 * The vector paths take four filter rows at a time against the same input, so each input
 * value is loaded (and on the DSP path widened) once for four rows: the DSP path spends 23
 * instructions on 16 MACs (one LDR and two SXTB16 of the input, then per row an LDR, two
 * SXTB16 and two SMLAD), the Helium path 9 on 64 (one input vector, then per row a weight
 * vector and a VMLADAVA). A filter zero point (asymmetric weights) adds
 * filter_offset * sum(x), summed once per input row. The output stage is the short one where
 * the compiler proved the accumulators narrow. */
#include "tm_kernels.h"
#include "tm_math.h"
#include "tm_mve.h"
#include "tm_simd.h"

#if defined(TM_MVE) || defined(TM_SIMD)
/* filter_offset * sum(x): the filter zero point's share of every output of this input. */
static int32_t offset_term(const int8_t *x, int32_t n, int32_t filter_offset)
{
    int32_t sum = 0, i;
    if (filter_offset == 0) {
        return 0;
    }
    for (i = 0; i < n; ++i) {
        sum += x[i];
    }
    return sum * filter_offset;
}

#endif

#if defined(TM_MVE)
/* Rows [r, r + 4) of the filter against x, the last block's missing rows repeating the last
 * real one (their outputs are not stored); `narrow` is a constant at each call. */
TM_INLINE void fc_rows_mve(const tm_out_t *o, int per_channel, int32_t n, int32_t rows,
                           const int8_t *x, const int8_t *filter, int32_t extra, int8_t *out,
                           int narrow)
{
    const int32_t whole = n >> 4;
    const mve_pred16_t tail = vctp8q((uint32_t)(n & 15));
    const int32x4_t lo = vdupq_n_s32(o->lo), hi = vdupq_n_s32(o->hi);
    int32x4_t mult = vdupq_n_s32(o->multiplier[0]);
    int32x4_t shift = vdupq_n_s32(o->shift[0]);
    int32_t r;
    for (r = 0; r < rows; r += 4) {
        const int32_t last = rows - 1;
        const int32_t r1 = r + 1 < last ? r + 1 : last, r2 = r + 2 < last ? r + 2 : last;
        const int32_t r3 = r + 3 < last ? r + 3 : last;
        const int8_t *w0 = filter + r * n, *w1 = filter + r1 * n;
        const int8_t *w2 = filter + r2 * n, *w3 = filter + r3 * n;
        const int8_t *xp = x;
        int32_t a0 = o->bias[r] + extra, a1 = o->bias[r1] + extra;
        int32_t a2 = o->bias[r2] + extra, a3 = o->bias[r3] + extra;
        int32_t g;
        const mve_pred16_t store = vctp32q((uint32_t)(rows - r));
        int32x4_t v;
        for (g = 0; g < whole; ++g) {
            const int8x16_t xv = vldrbq_s8(xp);
            xp += 16;
            a0 = vmladavaq_s8(a0, vldrbq_s8(w0), xv);
            a1 = vmladavaq_s8(a1, vldrbq_s8(w1), xv);
            a2 = vmladavaq_s8(a2, vldrbq_s8(w2), xv);
            a3 = vmladavaq_s8(a3, vldrbq_s8(w3), xv);
            w0 += 16;
            w1 += 16;
            w2 += 16;
            w3 += 16;
        }
        if (n & 15) {
            const int8x16_t xv = vldrbq_z_s8(xp, tail);
            a0 = vmladavaq_s8(a0, vldrbq_z_s8(w0, tail), xv);
            a1 = vmladavaq_s8(a1, vldrbq_z_s8(w1, tail), xv);
            a2 = vmladavaq_s8(a2, vldrbq_z_s8(w2, tail), xv);
            a3 = vmladavaq_s8(a3, vldrbq_z_s8(w3, tail), xv);
        }
        if (per_channel) {
            mult = vldrwq_z_s32(o->multiplier + r, store);
            shift = vldrbq_z_s32(o->shift + r, store);
        }
        v = tm_mve_lanes(a0, a1, a2, a3);
        if (narrow) {
            v = tm_mve_requant_narrow(v, mult, shift, o->offset, lo, hi);
        } else {
            v = tm_mve_requant(v, mult, vmaxq_s32(shift, vdupq_n_s32(0)),
                               vminq_s32(shift, vdupq_n_s32(0)), o->offset, lo, hi);
        }
        vstrbq_p_s32(out + r, v, store);
    }
}

TM_NOINLINE static void fc_mve(const tm_out_t *stage, int per_channel, int32_t n, int32_t rows,
                               const int8_t *x, const int8_t *filter, int32_t extra, int8_t *out)
{
    const tm_out_t o = *stage; /* a local copy: int8 stores cannot alias it */
    if (o.narrow) {
        fc_rows_mve(&o, per_channel, n, rows, x, filter, extra, out, 1);
    } else {
        fc_rows_mve(&o, per_channel, n, rows, x, filter, extra, out, 0);
    }
}
#elif defined(TM_SIMD)
/* One group of four inputs against four filter rows: rows 0 and 1 at p and p + n, rows 2 and
 * 3 at q and q + n, nm4 = n - 4 (rows 1 and 3 are read after the post-increments). 16 MACs
 * in 23 instructions. In assembly so that the four rows cost two pointers and the loop keeps
 * every value in a register; the "memory" clobber stands for the reads. At -O0 (a debug
 * build) the same in C: the assembly's twelve registers are more than -O0 leaves it. */
static inline void tm_fc_group(const int8_t **x, const int8_t **p, const int8_t **q, int32_t nm4,
                               int32_t *a0, int32_t *a1, int32_t *a2, int32_t *a3)
{
#if defined(__OPTIMIZE__)
    int32_t xe, xo, w, wo;
    __asm__("ldr     %[xe], [%[x]], #4\n\t"
            "ldr     %[w], [%[p]], #4\n\t"
            "sxtb16  %[xo], %[xe], ror #8\n\t"
            "sxtb16  %[xe], %[xe]\n\t"
            "sxtb16  %[wo], %[w], ror #8\n\t"
            "sxtb16  %[w], %[w]\n\t"
            "smlad   %[a0], %[xe], %[w], %[a0]\n\t"
            "smlad   %[a0], %[xo], %[wo], %[a0]\n\t"
            "ldr     %[w], [%[p], %[nm4]]\n\t"
            "sxtb16  %[wo], %[w], ror #8\n\t"
            "sxtb16  %[w], %[w]\n\t"
            "smlad   %[a1], %[xe], %[w], %[a1]\n\t"
            "smlad   %[a1], %[xo], %[wo], %[a1]\n\t"
            "ldr     %[w], [%[q]], #4\n\t"
            "sxtb16  %[wo], %[w], ror #8\n\t"
            "sxtb16  %[w], %[w]\n\t"
            "smlad   %[a2], %[xe], %[w], %[a2]\n\t"
            "smlad   %[a2], %[xo], %[wo], %[a2]\n\t"
            "ldr     %[w], [%[q], %[nm4]]\n\t"
            "sxtb16  %[wo], %[w], ror #8\n\t"
            "sxtb16  %[w], %[w]\n\t"
            "smlad   %[a3], %[xe], %[w], %[a3]\n\t"
            "smlad   %[a3], %[xo], %[wo], %[a3]"
            : [x] "+r"(*x), [p] "+r"(*p), [q] "+r"(*q), [a0] "+r"(*a0), [a1] "+r"(*a1),
              [a2] "+r"(*a2), [a3] "+r"(*a3), [xe] "=&r"(xe), [xo] "=&r"(xo), [w] "=&r"(w),
              [wo] "=&r"(wo)
            : [nm4] "r"(nm4)
            : "memory");
#else
    const int32_t v = tm_load32(*x), xe = __sxtb16(v), xo = tm_sxtb16_odd(v);
    int32_t w = tm_load32(*p);
    *a0 = __smlad(xo, tm_sxtb16_odd(w), __smlad(xe, __sxtb16(w), *a0));
    w = tm_load32(*p + nm4 + 4);
    *a1 = __smlad(xo, tm_sxtb16_odd(w), __smlad(xe, __sxtb16(w), *a1));
    w = tm_load32(*q);
    *a2 = __smlad(xo, tm_sxtb16_odd(w), __smlad(xe, __sxtb16(w), *a2));
    w = tm_load32(*q + nm4 + 4);
    *a3 = __smlad(xo, tm_sxtb16_odd(w), __smlad(xe, __sxtb16(w), *a3));
    *x += 4;
    *p += 4;
    *q += 4;
#endif
}

/* The output of row r: `stage` is a constant at each call; for a per-tensor layer the
 * channel constants f and ch were made once, for row 0. */
TM_INLINE int8_t fc_out(const tm_out_t *o, int per_channel, const tm_fast_t *f,
                        const tm_channel_t *ch, int32_t r, int32_t acc, int stage)
{
    if (stage != TM_GENERAL) {
        if (per_channel) {
            const tm_fast_t g = tm_fast_channel(o, r);
            return tm_fast_output(&g, acc, stage, o->lo, o->hi);
        }
        return tm_fast_output(f, acc, stage, o->lo, o->hi);
    }
    if (per_channel) {
        tm_channel_t c = tm_channel(o, r);
        c.bias = 0;
        return tm_channel_output(&c, acc);
    }
    return tm_channel_output(ch, acc);
}

/* Rows p, p + n, p + 2 n and p + 3 n against x, their sums added to acc[0..3]: two groups of
 * four inputs a pass (half the loop overhead), then the last n % 4 one by one. A function of
 * its own, shared by every output stage: one copy of the loop in the firmware. */
TM_NOINLINE static void fc_dot4(const int8_t *x, const int8_t *p, int32_t n, int32_t *acc)
{
    const int32_t whole = n & ~3;
    const int8_t *x_end = x + whole, *x_pairs = x + (n & ~7), *q = p + 2 * n;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], i;
    while (x < x_pairs) {
        tm_fc_group(&x, &p, &q, n - 4, &a0, &a1, &a2, &a3);
        tm_fc_group(&x, &p, &q, n - 4, &a0, &a1, &a2, &a3);
    }
    if (x < x_end) {
        tm_fc_group(&x, &p, &q, n - 4, &a0, &a1, &a2, &a3);
    }
    for (i = 0; i < n - whole; ++i) {
        const int32_t v = x[i];
        a0 += v * p[i];
        a1 += v * p[n + i];
        a2 += v * q[i];
        a3 += v * q[n + i];
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* One row w against x. */
static int32_t fc_dot1(const int8_t *x, const int8_t *w, int32_t n, int32_t acc)
{
    int32_t i;
    for (i = 0; i + 4 <= n; i += 4) {
        const int32_t v = tm_load32(x + i), k = tm_load32(w + i);
        acc = __smlad(__sxtb16(v), __sxtb16(k), acc);
        acc = __smlad(tm_sxtb16_odd(v), tm_sxtb16_odd(k), acc);
    }
    for (; i < n; ++i) {
        acc += (int32_t)x[i] * w[i];
    }
    return acc;
}

/* Every row of the filter against x, four rows at a time, then the last rows one by one. */
TM_INLINE void fc_rows_simd(const tm_out_t *o, int per_channel, int32_t n, int32_t rows,
                            const int8_t *x, const int8_t *filter, int32_t extra, int8_t *out,
                            int stage)
{
    tm_fast_t f = {0, 0, 0};
    tm_channel_t ch = tm_channel(o, 0);
    int32_t r = 0, a[4];
    if (stage != TM_GENERAL) {
        f = tm_fast_channel(o, 0); /* the short stage's shift is >= 1 only in narrow layers */
    }
    ch.bias = 0; /* already in the accumulators */
    for (; r + 4 <= rows; r += 4) {
        a[0] = o->bias[r] + extra;
        a[1] = o->bias[r + 1] + extra;
        a[2] = o->bias[r + 2] + extra;
        a[3] = o->bias[r + 3] + extra;
        fc_dot4(x, filter + r * n, n, a);
        out[r] = fc_out(o, per_channel, &f, &ch, r, a[0], stage);
        out[r + 1] = fc_out(o, per_channel, &f, &ch, r + 1, a[1], stage);
        out[r + 2] = fc_out(o, per_channel, &f, &ch, r + 2, a[2], stage);
        out[r + 3] = fc_out(o, per_channel, &f, &ch, r + 3, a[3], stage);
    }
    for (; r < rows; ++r) {
        const int32_t acc = fc_dot1(x, filter + r * n, n, o->bias[r] + extra);
        out[r] = fc_out(o, per_channel, &f, &ch, r, acc, stage);
    }
}

TM_NOINLINE static void fc_simd(const tm_out_t *stage, int per_channel, int32_t n, int32_t rows,
                                const int8_t *x, const int8_t *filter, int32_t extra,
                                int8_t *out)
{
    const tm_out_t o = *stage; /* a local copy: int8 stores cannot alias it */
    switch (tm_fast_stage(&o)) {
    case TM_FAST_SSAT:
        fc_rows_simd(&o, per_channel, n, rows, x, filter, extra, out, TM_FAST_SSAT);
        break;
    case TM_FAST_CLAMP:
        fc_rows_simd(&o, per_channel, n, rows, x, filter, extra, out, TM_FAST_CLAMP);
        break;
    default:
        fc_rows_simd(&o, per_channel, n, rows, x, filter, extra, out, TM_GENERAL);
    }
}
#else
/* The portable path (AVR too: its int is 16 bits, its constants in flash). */
static int32_t dot(const int8_t *x, const int8_t *w, int n, int32_t filter_offset)
{
    int32_t acc = 0;
    int i;
    for (i = 0; i < n; ++i) {
        acc += (int32_t)x[i] * ((int32_t)TM_W8(&w[i]) + filter_offset);
    }
    return acc;
}

static int8_t output_of(const tm_fc_params_t *p, const tm_requant_t *q, const int32_t *bias,
                        int o, int32_t acc)
{
    const int ch = p->per_channel ? o : 0;
    acc += TM_W32(&bias[o]);
    acc = tm_requantize(acc, TM_W32(&q->multiplier[ch]), TM_W8(&q->shift[ch])) + p->output_offset;
    return tm_clamp_s8(acc, p->act_min, p->act_max);
}
#endif

void tm_fully_connected_s8(const tm_fc_params_t *p, const tm_requant_t *q, const int8_t *input,
                           const int8_t *filter, const int32_t *bias, int8_t *output)
{
    const int32_t n = p->in_depth, rows = p->out_depth;
#if defined(TM_MVE) || defined(TM_SIMD)
    const tm_out_t o = tm_out_of(q, bias, p->output_offset, p->act_min, p->act_max, p->narrow_acc);
#endif
    int32_t b;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * n;
        int8_t *out = output + b * rows;
#if defined(TM_MVE)
        fc_mve(&o, p->per_channel, n, rows, x, filter, offset_term(x, n, p->filter_offset), out);
#elif defined(TM_SIMD)
        fc_simd(&o, p->per_channel, n, rows, x, filter, offset_term(x, n, p->filter_offset), out);
#else
        int r;
        for (r = 0; r < (int)rows; ++r) {
            out[r] = output_of(p, q, bias, r, dot(x, filter + (int32_t)r * n, (int)n, p->filter_offset));
        }
#endif
    }
}

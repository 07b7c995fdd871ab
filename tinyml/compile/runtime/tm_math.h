/* Fixed-point arithmetic shared by the kernels, as TFLite defines it. Header-only, inlined. */
#ifndef TM_MATH_H
#define TM_MATH_H

#include <stdint.h>

#include "tm_kernels.h"
#include "tm_mve.h"
#include "tm_simd.h"

/* Constant tensors live in flash. On AVR, flash is a separate address space: constants are
 * declared TM_FLASH (PROGMEM) and read through TM_W8/TM_W32; elsewhere these are plain loads. */
#if defined(__AVR__)
#include <avr/pgmspace.h>
#define TM_FLASH PROGMEM
#define TM_W8(p) ((int8_t)pgm_read_byte(p))
#define TM_W32(p) ((int32_t)pgm_read_dword(p))
#else
#define TM_FLASH
#define TM_W8(p) (*(p))
#define TM_W32(p) (*(p))
#endif

/* For inner loops that need every register: a call of their own keeps the caller's state
 * out of their register allocation. TM_INLINE: for code specialised by constant arguments. */
#if defined(__GNUC__)
#define TM_NOINLINE __attribute__((noinline))
#define TM_INLINE static inline __attribute__((always_inline))
#else
#define TM_NOINLINE
#define TM_INLINE static inline
#endif

/* (a * b * 2) >> 32 with rounding, saturating the one overflowing case. */
static inline int32_t tm_srdhm(int32_t a, int32_t b)
{
    int64_t ab;
    int32_t nudge;
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    ab = (int64_t)a * (int64_t)b;
    nudge = ab >= 0 ? ((int32_t)1 << 30) : (1 - ((int32_t)1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* x / 2^exponent, rounded to nearest with ties away from zero. */
static inline int32_t tm_rounding_divide_by_pot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * multiplier * 2^(shift - 31), TFLite's MultiplyByQuantizedMultiplier, for the positive
 * multipliers the compiler emits (in [2^30, 2^31)). Same two roundings as TFLite: the doubling
 * high multiply rounds half up, written here as floor((x * m + 2^30) / 2^31), which equals
 * the truncating form for every m != INT32_MIN; the final shift rounds half away from zero. */
static inline int32_t tm_requantize(int32_t x, int32_t multiplier, int shift)
{
    const int left = shift > 0 ? shift : 0;
    const int right = left - shift;
    const int64_t product = (int64_t)(int32_t)((uint32_t)x << left) * multiplier + ((int64_t)1 << 30);
    const int32_t high = (int32_t)(product >> 31);
    const int32_t mask = (int32_t)(((uint32_t)1 << right) - 1u);
    const int32_t threshold = (mask >> 1) + (int32_t)((uint32_t)high >> 31);
    return (high >> right) + ((high & mask) > threshold ? 1 : 0);
}

/* The part [*from, *to) of a pooling window of `size` starting at `start` (negative in the
 * padding) that lies inside [0, limit). */
static inline void tm_clip_window(int start, int size, int limit, int *from, int *to)
{
    *from = start < 0 ? 0 : start;
    *to = start + size > limit ? limit : start + size;
}

/* The output stage of a layer, copied out of its params struct into locals, so the compiler
 * need not reload it after every int8 store (an int8_t store may alias anything). */
typedef struct {
    const int32_t *bias; /* may be NULL */
    const int32_t *multiplier;
    const int8_t *shift;
    int32_t offset, lo, hi;
    int32_t narrow; /* see tm_fast_t */
} tm_out_t;

/* Copies n bytes, forwards (dst may be below an overlapping src); returns dst + n. Helium:
 * 16 at a time, each chunk read before it is written. */
static inline int8_t *tm_copy_s8(int8_t *dst, const int8_t *src, int32_t n)
{
    int32_t i;
#if defined(TM_MVE)
    for (i = 0; i + 16 <= n; i += 16) {
        vstrbq_s8(dst + i, vldrbq_s8(src + i));
    }
    if (i < n) {
        const mve_pred16_t part = vctp8q((uint32_t)(n - i));
        vstrbq_p_s8(dst + i, vldrbq_z_s8(src + i, part), part);
    }
#else
    for (i = 0; i < n; ++i) {
        dst[i] = src[i];
    }
#endif
    return dst + n;
}

static inline int8_t tm_clamp_s8(int32_t x, int8_t lo, int8_t hi)
{
    return (int8_t)(x < lo ? lo : (x > hi ? hi : x));
}

/* The output stage of a layer, from its requantization and its params' output fields. */
static inline tm_out_t tm_out_of(const tm_requant_t *q, const int32_t *bias, int32_t output_offset,
                                 int8_t act_min, int8_t act_max, int32_t narrow)
{
    tm_out_t o;
    o.bias = bias;
    o.multiplier = q->multiplier;
    o.shift = q->shift;
    o.offset = output_offset;
    o.lo = act_min;
    o.hi = act_max;
    o.narrow = narrow;
    return o;
}

static inline tm_out_t tm_conv_output(const tm_conv_params_t *p, const tm_requant_t *q,
                                      const int32_t *bias)
{
    return tm_out_of(q, bias, p->output_offset, p->act_min, p->act_max, p->narrow_acc);
}

/* Everything the output stage needs for one channel, in locals: for loops that produce many
 * outputs of the same channel (depthwise), so nothing is recomputed or reloaded per output. */
typedef struct {
    int32_t bias, multiplier, left, right, mask, half_mask, offset, lo, hi;
} tm_channel_t;

static inline tm_channel_t tm_channel(const tm_out_t *o, int32_t oc)
{
    tm_channel_t c;
    const int shift = TM_W8(&o->shift[oc]);
    c.bias = o->bias != 0 ? TM_W32(&o->bias[oc]) : 0;
    c.multiplier = TM_W32(&o->multiplier[oc]);
    c.left = shift > 0 ? shift : 0;
    c.right = c.left - shift;
    c.mask = (int32_t)(((uint32_t)1 << c.right) - 1u);
    c.half_mask = c.mask >> 1;
    c.offset = o->offset;
    c.lo = o->lo;
    c.hi = o->hi;
    return c;
}

/* tm_requantize with the channel's constants precomputed, then offset and clamp. */
static inline int8_t tm_channel_output(const tm_channel_t *c, int32_t acc)
{
    const int64_t product =
        (int64_t)(int32_t)((uint32_t)(acc + c->bias) << c->left) * c->multiplier +
        ((int64_t)1 << 30);
    const int32_t high = (int32_t)(product >> 31);
    const int32_t threshold = c->half_mask + (int32_t)((uint32_t)high >> 31);
    int32_t out = (high >> c->right) + ((high & c->mask) > threshold ? 1 : 0) + c->offset;
    out = out < c->lo ? c->lo : out;
    return (int8_t)(out > c->hi ? c->hi : out);
}

#if defined(TM_SIMD)
/* The short output stage, for layers whose accumulators the compiler proved narrow: every
 * channel's |acc + bias| << (left shift + 1) fits int32, and every channel shifts right by 1
 * to 22 bits. The doubling high multiply is then one rounded high-word multiply of the
 * doubled accumulator (SMMUL rounds half up, as TFLite's does for all but INT32_MIN), and
 * TFLite's rounding shift is (high + 2^(right-1) - (high < 0)) >> right. Here the output
 * offset joins the rounding constant (offset << right: no overflow, as |high| < 2^30 and
 * right <= 22), the sign test reads the accumulator (same sign as high, or high is 0 and the
 * result 0 either way), and SMMLAR adds the constant for free. The bias is already in the
 * accumulator. Bit for bit the same as tm_channel_output, in six instructions with SSAT. */
typedef struct {
    int32_t multiplier;
    int32_t round;      /* 2^(right - 1) + (offset << right) */
    int32_t right;
} tm_fast_t;

/* The output stage a layer can use: TM_GENERAL (tm_channel_output), TM_FAST_SSAT (narrow,
 * clamped to int8's range: SSAT alone) or TM_FAST_CLAMP (narrow, a fused activation's clamp). */
enum { TM_GENERAL, TM_FAST_SSAT, TM_FAST_CLAMP };

static inline int tm_fast_stage(const tm_out_t *o)
{
    if (!o->narrow) {
        return TM_GENERAL;
    }
    return o->lo == -128 && o->hi == 127 ? TM_FAST_SSAT : TM_FAST_CLAMP;
}

static inline tm_fast_t tm_fast_channel(const tm_out_t *o, int32_t oc)
{
    tm_fast_t f;
    f.right = -o->shift[oc]; /* >= 1 in narrow layers: no left shift, only the doubling */
    f.multiplier = o->multiplier[oc];
    f.round = (int32_t)(1u << (f.right - 1)) + (int32_t)((uint32_t)o->offset << f.right);
    return f;
}

/* `stage` is a constant at each call: TM_FAST_CLAMP adds the clamp to [lo, hi]. */
TM_INLINE int8_t tm_fast_output(const tm_fast_t *f, int32_t acc, int stage, int32_t lo,
                                int32_t hi)
{
    const int32_t start = f->round + (acc >> 31); /* ties round away from zero */
    const int32_t x = tm_smmlar((int32_t)((uint32_t)acc << 1), f->multiplier, start);
    int32_t out = __ssat(x >> f->right, 8);
    if (stage == TM_FAST_CLAMP) {
        out = out < lo ? lo : out;
        out = out > hi ? hi : out;
    }
    return (int8_t)out;
}
#endif

/* Bias, requantization, output offset and activation clamp for output channel oc. */
static inline int8_t tm_output(const tm_out_t *o, int32_t oc, int32_t acc)
{
    if (o->bias != 0) {
        acc += TM_W32(&o->bias[oc]);
    }
    acc = tm_requantize(acc, TM_W32(&o->multiplier[oc]), TM_W8(&o->shift[oc])) + o->offset;
    return tm_clamp_s8(acc, (int8_t)o->lo, (int8_t)o->hi);
}

#endif

/* Fixed-point arithmetic shared by the kernels, as TFLite defines it. Header-only, inlined. */
#ifndef TM_MATH_H
#define TM_MATH_H

#include <stdint.h>

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

static inline int8_t tm_clamp_s8(int32_t x, int8_t lo, int8_t hi)
{
    return (int8_t)(x < lo ? lo : (x > hi ? hi : x));
}

#endif

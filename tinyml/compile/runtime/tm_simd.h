/* Helpers of the SIMD path (Cortex-M with the DSP extension, through ACLE intrinsics).
 *
 * int8 data is widened to int16 four values at a time with SXTB16, which yields the even
 * bytes (x0, x2) and, rotated by 8, the odd bytes (x1, x3). Activations are therefore stored
 * widened in that order ("SXTB16 order"): per group of four, x0 x2 x1 x3. A weight word
 * widened the same way then lines up lane for lane, and SMLAD adds two products at a time. */
#ifndef TM_SIMD_H
#define TM_SIMD_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP)
#define TM_SIMD 1
#include <arm_acle.h>

static inline int32_t tm_load32(const void *p)
{
    int32_t v;
    memcpy(&v, p, 4); /* one LDR: Cortex-M4/M7/M33/M55 allow unaligned word loads */
    return v;
}

/* The odd bytes (x1, x3) sign-extended: SXTB16 with its operand rotated by 8, one instruction
 * (GCC's arm_acle.h has no __ror to spell it with). */
static inline int32_t tm_sxtb16_odd(int32_t v)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* c + ((a * b + 2^31) >> 32): SMMLAR, the rounded high word of the product, plus c. */
static inline int32_t tm_smmlar(int32_t a, int32_t b, int32_t c)
{
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}

#endif

#endif

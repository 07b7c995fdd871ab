/* Helpers of the Helium path (the M-Profile Vector Extension of Armv8.1-M: Cortex-M55, M85),
 * through arm_mve.h. Selected by __ARM_FEATURE_MVE (bit 0: the integer vector instructions),
 * which GCC defines for -mcpu=cortex-m55; it takes precedence over the DSP path (TM_SIMD),
 * which the same cores also have.
 *
 * Dot products are VMLADAVA: 16 int8 products summed into a 32-bit scalar in one
 * instruction. As the input offset is folded into the bias at compile time, the kernels
 * multiply raw int8 values and need no widening. Tails of fewer than 16 values load their
 * weights with a predicate (VCTP): the inactive lanes read as 0 and are never fetched.
 *
 * The output stage runs on four lanes at a time with the same two roundings as TFLite:
 * VQRDMULH is SaturatingRoundingDoublingHighMul exactly, and VRSHL by a negative amount
 * rounds half up, which an added -1 on negative values turns into TFLite's half away from
 * zero. */
#ifndef TM_MVE_H
#define TM_MVE_H

#include <stdint.h>

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define TM_MVE 1
#include <arm_mve.h>

/* Four lanes of int32: x * multiplier * 2^shift (left = max(shift, 0), neg_right =
 * min(shift, 0)), rounded as tm_requantize, plus offset, clamped to [lo, hi]. Any shift. */
static inline int32x4_t tm_mve_requant(int32x4_t x, int32x4_t multiplier, int32x4_t left,
                                       int32x4_t neg_right, int32_t offset, int32x4_t lo,
                                       int32x4_t hi)
{
    int32x4_t v = vqrdmulhq_s32(vshlq_s32(x, left), multiplier);
    /* -1 on negative values that are shifted right at all: neg_right is 0 for no shift,
     * and has its sign bit set otherwise. Saturating, for INT32_MIN. */
    v = vqaddq_s32(v, vshrq_n_s32(vandq_s32(v, neg_right), 31));
    v = vaddq_n_s32(vrshlq_s32(v, neg_right), offset);
    return vminq_s32(vmaxq_s32(v, lo), hi);
}

/* The same for a layer whose accumulators the compiler proved narrow (see tm_fast_t): no left
 * shift, a right shift of 1 to 22, |x| < 2^30. The sign fix then reads x itself (the high
 * multiply keeps its sign, or gives 0, which the fix leaves 0) and needs no saturation. */
static inline int32x4_t tm_mve_requant_narrow(int32x4_t x, int32x4_t multiplier,
                                              int32x4_t neg_right, int32_t offset, int32x4_t lo,
                                              int32x4_t hi)
{
    int32x4_t v = vaddq_s32(vqrdmulhq_s32(x, multiplier), vshrq_n_s32(x, 31));
    v = vaddq_n_s32(vrshlq_s32(v, neg_right), offset);
    return vminq_s32(vmaxq_s32(v, lo), hi);
}

/* tm_requantize on four lanes, one set of constants (scalars): no offset, no clamp. */
static inline int32x4_t tm_mve_scale_n(int32x4_t x, int32_t multiplier, int32_t left,
                                       int32_t neg_right)
{
    int32x4_t v = vqrdmulhq_n_s32(vshlq_r_s32(x, left), multiplier);
    v = vqaddq_s32(v, vshrq_n_s32(vandq_s32(v, vdupq_n_s32(neg_right)), 31));
    return vrshlq_n_s32(v, neg_right);
}

/* The same two stages for four lanes of one channel: its constants as scalars. */
static inline int32x4_t tm_mve_requant_n(int32x4_t x, int32_t multiplier, int32_t left,
                                         int32_t neg_right, int32_t offset, int32x4_t lo,
                                         int32x4_t hi)
{
    const int32x4_t v = vaddq_n_s32(tm_mve_scale_n(x, multiplier, left, neg_right), offset);
    return vminq_s32(vmaxq_s32(v, lo), hi);
}

static inline int32x4_t tm_mve_requant_narrow_n(int32x4_t x, int32_t multiplier,
                                                int32_t neg_right, int32_t offset,
                                                int32x4_t lo, int32x4_t hi)
{
    int32x4_t v = vaddq_s32(vqrdmulhq_n_s32(x, multiplier), vshrq_n_s32(x, 31));
    v = vaddq_n_s32(vrshlq_n_s32(v, neg_right), offset);
    return vminq_s32(vmaxq_s32(v, lo), hi);
}

/* Four scalars as the lanes of one vector. */
static inline int32x4_t tm_mve_lanes(int32_t a0, int32_t a1, int32_t a2, int32_t a3)
{
    int32x4_t v = vdupq_n_s32(a0);
    v = vsetq_lane_s32(a1, v, 1);
    v = vsetq_lane_s32(a2, v, 2);
    return vsetq_lane_s32(a3, v, 3);
}

/* {0, step, 2 step, 3 step}: the byte offsets of four lanes `step` apart. */
static inline uint32x4_t tm_mve_steps(int32_t step)
{
    return vmulq_n_u32(vidupq_n_u32(0u, 1), (uint32_t)step);
}
#endif

#endif

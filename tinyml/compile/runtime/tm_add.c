/* ADD, int8: both inputs are brought to a common scale with 20 bits of headroom, summed,
 * and requantized to the output, as TFLite's integer Add does. */
#include "tm_kernels.h"
#include "tm_math.h"
#include "tm_mve.h"

#if defined(TM_MVE)
/* Four elements: the same three rescalings on four lanes. */
TM_INLINE int32x4_t add4(const tm_add_params_t *p, int32x4_t a, int32x4_t b, int32x4_t lo,
                         int32x4_t hi)
{
    const int32_t s1 = p->input1_shift, s2 = p->input2_shift, so = p->output_shift;
    a = vshlq_r_s32(vaddq_n_s32(a, p->input1_offset), p->left_shift);
    b = vshlq_r_s32(vaddq_n_s32(b, p->input2_offset), p->left_shift);
    a = vaddq_s32(tm_mve_scale_n(a, p->input1_multiplier, s1 > 0 ? s1 : 0, s1 < 0 ? s1 : 0),
                  tm_mve_scale_n(b, p->input2_multiplier, s2 > 0 ? s2 : 0, s2 < 0 ? s2 : 0));
    a = vaddq_n_s32(tm_mve_scale_n(a, p->output_multiplier, so > 0 ? so : 0, so < 0 ? so : 0),
                    p->output_offset);
    return vminq_s32(vmaxq_s32(a, lo), hi);
}
#endif

void tm_add_s8(const tm_add_params_t *p, const int8_t *input1, const int8_t *input2,
               int8_t *output)
{
    uint32_t i = 0;
#if defined(TM_MVE)
    const tm_add_params_t q = *p; /* a local copy: int8 stores cannot alias it */
    const int32x4_t lo = vdupq_n_s32(q.act_min), hi = vdupq_n_s32(q.act_max);
    for (; i + 4 <= q.size; i += 4) { /* each lane is read before it is written */
        vstrbq_s32(output + i, add4(&q, vldrbq_s32(input1 + i), vldrbq_s32(input2 + i), lo, hi));
    }
    if (i < q.size) {
        const mve_pred16_t part = vctp32q(q.size - i);
        vstrbq_p_s32(output + i, add4(&q, vldrbq_z_s32(input1 + i, part),
                                      vldrbq_z_s32(input2 + i, part), lo, hi), part);
        return;
    }
#endif
    for (; i < p->size; ++i) {
        const int32_t a = (int32_t)((uint32_t)(input1[i] + p->input1_offset) << p->left_shift);
        const int32_t b = (int32_t)((uint32_t)(input2[i] + p->input2_offset) << p->left_shift);
        const int32_t sum = tm_requantize(a, p->input1_multiplier, p->input1_shift) +
                            tm_requantize(b, p->input2_multiplier, p->input2_shift);
        const int32_t out = tm_requantize(sum, p->output_multiplier, p->output_shift) +
                            p->output_offset;
        output[i] = tm_clamp_s8(out, p->act_min, p->act_max);
    }
}

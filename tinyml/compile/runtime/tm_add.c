/* ADD, int8: both inputs are brought to a common scale with 20 bits of headroom, summed,
 * and requantized to the output, as TFLite's integer Add does. */
#include "tm_kernels.h"
#include "tm_math.h"

void tm_add_s8(const tm_add_params_t *p, const int8_t *input1, const int8_t *input2,
               int8_t *output)
{
    uint32_t i;
    for (i = 0; i < p->size; ++i) {
        const int32_t a = (int32_t)((uint32_t)(input1[i] + p->input1_offset) << p->left_shift);
        const int32_t b = (int32_t)((uint32_t)(input2[i] + p->input2_offset) << p->left_shift);
        const int32_t sum = tm_requantize(a, p->input1_multiplier, p->input1_shift) +
                            tm_requantize(b, p->input2_multiplier, p->input2_shift);
        const int32_t out = tm_requantize(sum, p->output_multiplier, p->output_shift) +
                            p->output_offset;
        output[i] = tm_clamp_s8(out, p->act_min, p->act_max);
    }
}

/* SOFTMAX, int8 in and int8 out (scale 1/256, zero point -128), in TFLite's fixed point.
 *
 * Differences to the row maximum are rescaled to Q5.26, exponentiated by the gemmlowp
 * scheme (a polynomial on [-1/4, 0) then a barrel shifter of exp(-2^k) factors), summed in
 * Q12.19, inverted by Newton-Raphson in Q2.29 and multiplied back. Constants are the Q0.31
 * or Q2.29 encodings of the values named beside them. */
#include "tm_kernels.h"
#include "tm_math.h"

/* Saturating x * 2^exponent for 0 < exponent < 31. */
static int32_t shift_left_saturating(int32_t x, int exponent)
{
    const int32_t threshold = (int32_t)(((int32_t)1 << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out: Taylor expansion around -1/8. */
static int32_t exp_quarter_interval(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668; /* exp(-1/8) */
    const int32_t one_third = 715827883;             /* 1/3 */
    const int32_t x = a + ((int32_t)1 << 28);        /* a + 1/8 */
    const int32_t x2 = tm_srdhm(x, x);
    const int32_t x3 = tm_srdhm(x2, x);
    const int32_t x4 = tm_srdhm(x2, x2);
    const int32_t x4_over_4 = tm_rounding_divide_by_pot(x4, 2);
    const int32_t poly = tm_rounding_divide_by_pot(tm_srdhm(x4_over_4 + x3, one_third) + x2, 1);
    return exp_minus_one_eighth + tm_srdhm(exp_minus_one_eighth, x + poly);
}

/* exp(a) for a <= 0 in Q5.26, result in Q0.31. */
static int32_t exp_on_negative_values(int32_t a)
{
    static const int32_t factors[7] = {
        1672461947, /* exp(-1/4) */
        1302514674, /* exp(-1/2) */
        790015084,  /* exp(-1)   */
        290630308,  /* exp(-2)   */
        39332535,   /* exp(-4)   */
        720401,     /* exp(-8)   */
        242         /* exp(-16)  */
    };
    const int32_t one_quarter = (int32_t)1 << 24;
    const int32_t a_mod_quarter_minus_quarter = (a & (one_quarter - 1)) - one_quarter;
    const int32_t remainder = a_mod_quarter_minus_quarter - a;
    int32_t result = exp_quarter_interval(shift_left_saturating(a_mod_quarter_minus_quarter, 5));
    int k;
    for (k = 0; k < 7; ++k) {
        if (remainder & ((int32_t)1 << (24 + k))) {
            result = tm_srdhm(result, factors[k]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

static int count_leading_zeros(uint32_t x)
{
    int n = 0;
    if (x == 0u) {
        return 32;
    }
    while ((x & 0x80000000u) == 0u) {
        x <<= 1;
        ++n;
    }
    return n;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out, by three Newton-Raphson steps in Q2.29. */
static int32_t one_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t forty_eight_over_17 = 1515870810;
    const int32_t minus_thirty_two_over_17 = -1010580540;
    int32_t x = forty_eight_over_17 + tm_srdhm(half_denominator, minus_thirty_two_over_17);
    int i;
    for (i = 0; i < 3; ++i) {
        const int32_t half_denominator_times_x = tm_srdhm(half_denominator, x);
        const int32_t one_minus = ((int32_t)1 << 29) - half_denominator_times_x;
        x = x + shift_left_saturating(tm_srdhm(x, one_minus), 2);
    }
    return shift_left_saturating(x, 1);
}

void tm_softmax_s8(const tm_softmax_params_t *p, const int8_t *input, int8_t *output)
{
    int r, c;
    for (r = 0; r < p->rows; ++r) {
        const int8_t *x = input + (int32_t)r * p->depth;
        int8_t *y = output + (int32_t)r * p->depth;
        int32_t max_value = -128;
        int32_t sum_of_exps = 0; /* Q12.19 */
        int32_t headroom, bits_over_unit, scale;
        for (c = 0; c < p->depth; ++c) {
            max_value = x[c] > max_value ? x[c] : max_value;
        }
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max_value;
            if (diff >= p->diff_min) {
                const int32_t scaled = tm_srdhm((int32_t)((uint32_t)diff << p->input_left_shift),
                                                p->input_multiplier);
                sum_of_exps += tm_rounding_divide_by_pot(exp_on_negative_values(scaled), 12);
            }
        }
        headroom = count_leading_zeros((uint32_t)sum_of_exps);
        bits_over_unit = 12 - headroom;
        scale = one_over_one_plus_x((int32_t)(((uint32_t)sum_of_exps << headroom) - 0x80000000u));
        /* The last loop reads x[c] before writing y[c]: input and output may be the same. */
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max_value;
            int32_t out = -128;
            if (diff >= p->diff_min) {
                const int32_t scaled = tm_srdhm((int32_t)((uint32_t)diff << p->input_left_shift),
                                                p->input_multiplier);
                const int32_t e = exp_on_negative_values(scaled);
                out = tm_rounding_divide_by_pot(tm_srdhm(scale, e), bits_over_unit + 31 - 8) - 128;
                out = out > 127 ? 127 : out;
            }
            y[c] = (int8_t)out;
        }
    }
}

/* tinyml int8 kernel library: the operators `tinyml compile` emits calls to.
 *
 * Freestanding C99, no malloc, no float. Every kernel computes exactly what TFLite Micro's
 * reference kernel computes, bit for bit; on Cortex-M cores with the DSP extension
 * (__ARM_FEATURE_DSP) the inner loops use SIMD intrinsics with the same results (and the
 * matrix kernel's inner step, tm_mac_group in tm_gemm.c, a few lines of assembly for LDRD),
 * and on cores with Helium (__ARM_FEATURE_MVE: Cortex-M55, M85) vector intrinsics from
 * arm_mve.h (tm_mve.h), again with the same results.
 * One operator per file; the shared arithmetic is in tm_math.h.
 */
#ifndef TM_KERNELS_H
#define TM_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Shapes are NHWC with N = 1. Offsets: input_offset = -input_zero_point,
 * output_offset = output_zero_point. act_min/act_max clamp the fused activation. */
typedef struct {
    int16_t in_h, in_w, in_c;
    int16_t out_h, out_w, out_c;
    uint8_t filter_h, filter_w;
    uint8_t stride_h, stride_w;
    uint8_t dilation_h, dilation_w;
    uint8_t pad_h, pad_w;
    uint8_t depth_multiplier; /* depthwise only */
    uint8_t narrow_acc;       /* the compiler proved |acc + bias| << (shift + 1) fits int32 */
    int8_t act_min, act_max;
    int32_t input_offset;
    int32_t output_offset;
} tm_conv_params_t;

/* Per output channel requantization: out = (acc * multiplier[c]) >> (31 - shift[c]), rounded. */
typedef struct {
    const int32_t *multiplier;
    const int8_t *shift;
} tm_requant_t;

/* CONV_2D. filter is [out_c][filter_h][filter_w][in_c]; bias may be NULL, and must already
 * include input_offset * sum(filter) of its channel. With k = filter_h * filter_w * in_c,
 * scratch holds TM_COLS_BYTES(k) (tm_gemm.h: the larger of 8 k and 64 ceil(k / 16)) + (k
 * rounded up to 4) + 4 out_c bytes of patches and, when output == input (in place: stride 1,
 * same size, in_c == out_c), then pad_h + 1 rows of in_w * in_c. */
void tm_conv2d_s8(const tm_conv_params_t *p, const tm_requant_t *q, const int8_t *input,
                  const int8_t *filter, const int32_t *bias, int8_t *output, int16_t *scratch);

/* CONV_2D with a 1x1 filter, stride 1, no padding. bias must already include
 * input_offset * sum(filter) of its channel (folded at compile time). input and output may
 * be the same buffer: scratch (TM_COLS_BYTES(in_c) + 4 * out_c bytes) holds four pixels and
 * the outputs of a last, partial block of pixels (or one pixel's outputs). */
void tm_conv2d_1x1_s8(const tm_conv_params_t *p, const tm_requant_t *q, const int8_t *input,
                      const int8_t *filter, const int32_t *bias, int8_t *output, int8_t *scratch);

/* DEPTHWISE_CONV_2D. filter is [filter_h][filter_w][out_c]. plane is scratch for one padded
 * input channel: with plane_h = (out_h - 1) * stride_h + (filter_h - 1) * dilation_h + 1
 * (likewise plane_w), the larger of 4 ceil(plane_h plane_w / 2) bytes (an int16 plane) and
 * 2 plane_h plane_w + 3 max(stride_h, stride_w) rounded up to 4 (the Helium path's int8
 * plane), then one channel's window sums, out_h * out_w + 3 int32. With depth_multiplier 1,
 * input and output may be the same buffer. */
void tm_depthwise_conv2d_s8(const tm_conv_params_t *p, const tm_requant_t *q, const int8_t *input,
                            const int8_t *filter, const int32_t *bias, int8_t *output,
                            int16_t *plane);

typedef struct {
    int16_t batches, in_depth, out_depth;
    int8_t act_min, act_max;
    int32_t input_offset;  /* -input_zero_point (already folded into bias) */
    int32_t filter_offset; /* -filter_zero_point */
    int32_t output_offset;
    uint8_t per_channel;   /* q holds out_depth entries rather than one */
    uint8_t narrow_acc;    /* as in tm_conv_params_t */
} tm_fc_params_t;

/* FULLY_CONNECTED. filter is [out_depth][in_depth]; bias (never NULL) already includes
 * input_offset * (sum(filter row) + in_depth * filter_offset). */
void tm_fully_connected_s8(const tm_fc_params_t *p, const tm_requant_t *q, const int8_t *input,
                           const int8_t *filter, const int32_t *bias, int8_t *output);

typedef struct {
    int16_t in_h, in_w, channels;
    int16_t out_h, out_w;
    uint8_t filter_h, filter_w;
    uint8_t stride_h, stride_w;
    uint8_t pad_h, pad_w;
    int8_t act_min, act_max;
} tm_pool_params_t;

/* AVERAGE_POOL_2D: the window is clipped at the borders and the average rounded half away
 * from zero. Input and output may be the same buffer when the output is 1x1. */
void tm_average_pool2d_s8(const tm_pool_params_t *p, const int8_t *input, int8_t *output);

/* MAX_POOL_2D. */
void tm_max_pool2d_s8(const tm_pool_params_t *p, const int8_t *input, int8_t *output);

typedef struct {
    int16_t rows, depth;
    int32_t input_multiplier;
    int8_t input_left_shift;
    int32_t diff_min;
    int32_t output_offset; /* output zero point: -128 for the usual 1/256 scale */
} tm_softmax_params_t;

/* SOFTMAX, int8 in and out, with TFLite's fixed-point exp. Input and output may alias. */
void tm_softmax_s8(const tm_softmax_params_t *p, const int8_t *input, int8_t *output);

typedef struct {
    uint32_t size;
    int32_t input1_offset, input2_offset, output_offset;
    int32_t input1_multiplier, input2_multiplier, output_multiplier;
    int8_t input1_shift, input2_shift, output_shift;
    uint8_t left_shift;
    int8_t act_min, act_max;
} tm_add_params_t;

/* ADD of two same-shaped int8 tensors. Output may alias either input. */
void tm_add_s8(const tm_add_params_t *p, const int8_t *input1, const int8_t *input2,
               int8_t *output);

typedef struct {
    int16_t in_h, in_w, channels;
    int16_t lowest;      /* output for sums below the first threshold */
    int16_t thresholds; /* number of thresholds */
} tm_mean_params_t;

/* MEAN over height and width (global average pooling), by thresholds on the window sum. */
void tm_mean_s8(const tm_mean_params_t *p, const int8_t *input, const int32_t *thresholds,
                int8_t *output);

#ifdef __cplusplus
}
#endif

#endif

/* tinyml front-ends: see tm_frontend.h. */
#include "tm_frontend.h"

#include <math.h>

#include "tm_frontend_tables.h"

/* Iterative radix-2 decimation-in-time FFT of n points (re, im), in place. cos/sin hold
 * cos(2 pi k / n) and -sin(2 pi k / n) for k < n/2. */
static void fft(float *re, float *im, int n, const float *cos_t, const float *sin_t)
{
    int i, j, bit, size;
    for (i = 1, j = 0; i < n; ++i) {
        for (bit = n >> 1; j & bit; bit >>= 1) {
            j ^= bit;
        }
        j |= bit;
        if (i < j) {
            float t = re[i];
            re[i] = re[j];
            re[j] = t;
            t = im[i];
            im[i] = im[j];
            im[j] = t;
        }
    }
    for (size = 2; size <= n; size <<= 1) {
        const int half = size >> 1;
        const int step = n / size;
        int start, k;
        for (start = 0; start < n; start += size) {
            for (k = 0; k < half; ++k) {
                const float wr = FE_F32(&cos_t[k * step]);
                const float wi = FE_F32(&sin_t[k * step]);
                const int a = start + k, b = a + half;
                const float br = re[b], bi = im[b];
                const float ar = re[a], ai = im[a];
                const float tr = br * wr - bi * wi;
                const float ti = br * wi + bi * wr;
                re[b] = ar - tr;
                im[b] = ai - ti;
                re[a] = ar + tr;
                im[a] = ai + ti;
            }
        }
    }
}

static int8_t fe_quantize(float v, float scale, int zero_point)
{
    const float q = v / scale;
    const float r = q < 0.0f ? -floorf(-q + 0.5f) : floorf(q + 0.5f);
    const float out = r + (float)zero_point;
    return (int8_t)(out < -128.0f ? -128 : (out > 127.0f ? 127 : (int)out));
}

#if defined(FE_MFCC_FFT)
void fe_mfcc_frame(const int16_t *x, int8_t *out, float *work)
{
    float *re = work;
    float *im = work + FE_MFCC_FFT;
    float *logmel = work + 2 * FE_MFCC_FFT;
    int i, m, c, w;
    for (i = 0; i < FE_MFCC_FFT; ++i) {
        re[i] = i < FE_MFCC_WINDOW ? ((float)x[i] / 32768.0f) * FE_F32(&fe_mfcc_window[i]) : 0.0f;
        im[i] = 0.0f;
    }
    fft(re, im, FE_MFCC_FFT, fe_mfcc_cos, fe_mfcc_sin);
    for (i = 0; i <= FE_MFCC_FFT / 2; ++i) {
        re[i] = re[i] * re[i] + im[i] * im[i]; /* power, in place */
    }
    for (m = 0, w = 0; m < FE_MFCC_BANDS; ++m) {
        const int first = FE_I16(&fe_mfcc_mel_first[m]);
        const int count = FE_I16(&fe_mfcc_mel_count[m]);
        float acc = 0.0f;
        for (i = 0; i < count; ++i, ++w) {
            acc = acc + re[first + i] * FE_F32(&fe_mfcc_mel_weights[w]);
        }
        logmel[m] = logf(acc + FE_MFCC_LOG_FLOOR);
    }
    for (c = 0; c < FE_MFCC_COEFFS; ++c) {
        float acc = 0.0f;
        for (m = 0; m < FE_MFCC_BANDS; ++m) {
            acc = acc + logmel[m] * FE_F32(&fe_mfcc_dct[c * FE_MFCC_BANDS + m]);
        }
        out[c] = fe_quantize(acc, FE_MFCC_SCALE, FE_MFCC_ZERO_POINT);
    }
}

void fe_mfcc(const int16_t *clip, int8_t *out, float *work)
{
    int f;
    for (f = 0; f < FE_MFCC_FRAMES; ++f) {
        fe_mfcc_frame(clip + f * FE_MFCC_STRIDE, out + f * FE_MFCC_COEFFS, work);
    }
    fe_mfcc_normalize(out);
}

void fe_mfcc_normalize(int8_t *window)
{
#if FE_MFCC_NORMALIZE
    int c, f;
    for (c = 0; c < FE_MFCC_COEFFS; ++c) {
        int32_t total = 0, mean;
        for (f = 0; f < FE_MFCC_FRAMES; ++f) {
            total += window[f * FE_MFCC_COEFFS + c];
        }
        /* the mean, rounded half away from zero in integers */
        mean = total >= 0 ? (2 * total + FE_MFCC_FRAMES) / (2 * FE_MFCC_FRAMES)
                          : -((FE_MFCC_FRAMES - 2 * total) / (2 * FE_MFCC_FRAMES));
        for (f = 0; f < FE_MFCC_FRAMES; ++f) {
            const int32_t v = (int32_t)window[f * FE_MFCC_COEFFS + c] - mean;
            window[f * FE_MFCC_COEFFS + c] = (int8_t)(v < -128 ? -128 : (v > 127 ? 127 : v));
        }
    }
#else
    (void)window;
#endif
}
#endif

#if defined(FE_SPEC_FFT)
void fe_spectrum(const int16_t *window, int8_t *out, float *work)
{
    float *re = work;
    float *im = work + FE_SPEC_FFT;
    const int per_band = (FE_SPEC_FFT / 2) / FE_SPEC_BANDS;
    int axis, i, b;
    for (axis = 0; axis < FE_SPEC_AXES; ++axis) {
        const int16_t *x = window + axis * FE_SPEC_WINDOW;
        float total = 0.0f, mean;
        for (i = 0; i < FE_SPEC_WINDOW; ++i) {
            total = total + (float)x[i] * FE_SPEC_G_PER_COUNT;
        }
        mean = total / (float)FE_SPEC_WINDOW;
        for (i = 0; i < FE_SPEC_FFT; ++i) {
            re[i] = i < FE_SPEC_WINDOW
                        ? ((float)x[i] * FE_SPEC_G_PER_COUNT - mean) * FE_F32(&fe_spec_window[i])
                        : 0.0f;
            im[i] = 0.0f;
        }
        fft(re, im, FE_SPEC_FFT, fe_spec_cos, fe_spec_sin);
        for (b = 0; b < FE_SPEC_BANDS; ++b) {
            float acc = 0.0f;
            for (i = 1 + b * per_band; i < 1 + (b + 1) * per_band; ++i) {
                acc = acc + (re[i] * re[i] + im[i] * im[i]);
            }
            out[axis * FE_SPEC_BANDS + b] =
                fe_quantize(logf(acc + FE_SPEC_LOG_FLOOR), FE_SPEC_SCALE, FE_SPEC_ZERO_POINT);
        }
    }
}

void fe_normalize(int8_t *features, const int16_t *levels, uint16_t n)
{
    uint16_t i;
    for (i = 0; i < n; ++i) {
        const int32_t v = (int32_t)features[i] - (int32_t)levels[i];
        features[i] = (int8_t)(v < -128 ? -128 : (v > 127 ? 127 : v));
    }
}
#endif

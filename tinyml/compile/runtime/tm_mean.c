/* MEAN over height and width, int8. The compiler turned TFLM's averaging (integer division
 * or requantization of the sum) into thresholds on the integer sum:
 * output = lowest + number of thresholds <= sum.
 * Reads each channel fully before writing it, so output may overwrite input in place. */
#include "tm_kernels.h"
#include "tm_math.h"

void tm_mean_s8(const tm_mean_params_t *p, const int8_t *input, const int32_t *thresholds,
                int8_t *output)
{
    const int32_t pixels = (int32_t)p->in_h * p->in_w;
    int c;
    for (c = 0; c < p->channels; ++c) {
        int32_t sum = 0;
        int32_t i;
        int lo = 0, hi = p->thresholds; /* binary search: first threshold above sum */
        for (i = 0; i < pixels; ++i) {
            sum += input[i * p->channels + c];
        }
        while (lo < hi) {
            const int mid = (lo + hi) / 2;
            if (TM_W32(&thresholds[mid]) <= sum) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        output[c] = (int8_t)(p->lowest + lo);
    }
}

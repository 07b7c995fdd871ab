/* Host runner for the C front-ends (tests and benchmarks): reads inputs back to back on
 * stdin, writes int8 features to stdout. Built with -DFE_RUN_MFCC or -DFE_RUN_SPECTRUM. */
#include <stdio.h>

#include "tm_frontend.h"
#include "tm_frontend_tables.h"

#if defined(FE_RUN_MFCC)
#define IN_SAMPLES FE_MFCC_CLIP
#define OUT_BYTES (FE_MFCC_FRAMES * FE_MFCC_COEFFS)
#define WORK_FLOATS (2 * FE_MFCC_FFT + FE_MFCC_BANDS)
#define RUN(in, out, work) fe_mfcc(in, out, work)
#else
#define IN_SAMPLES (FE_SPEC_AXES * FE_SPEC_WINDOW)
#define OUT_BYTES (FE_SPEC_AXES * FE_SPEC_BANDS)
#define WORK_FLOATS (2 * FE_SPEC_FFT)
#define RUN(in, out, work) fe_spectrum(in, out, work)
#endif

int main(void)
{
    static int16_t input[IN_SAMPLES];
    static int8_t output[OUT_BYTES];
    static float work[WORK_FLOATS];
    while (fread(input, sizeof input[0], IN_SAMPLES, stdin) == IN_SAMPLES) {
        RUN(input, output, work);
        fwrite(output, 1, OUT_BYTES, stdout);
    }
    return 0;
}

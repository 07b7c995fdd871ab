/* kws: keyword spotting. MFCC front-end (tm_frontend.c) and the compiled DS-CNN (model.c).
 *
 * Live mode keeps the last second of audio, classifies it every KWS_HOP_SAMPLES, averages the
 * last KWS_AVERAGE outputs, and prints a DETECT line when a keyword's averaged probability
 * reaches KWS_THRESHOLD_MILLI / 1000, at most once per KWS_SUPPRESS_HOPS hops. */
#include <stdint.h>

#include "model.h"
#include "tinyml_app.h"
#include "tinyml_config.h"
#include "tinyml_print.h"
#include "tinyml_sensor.h"
#include "tinyml_timer.h"
#include "tm_frontend.h"

static int16_t window[KWS_CLIP_SAMPLES];
static int8_t features[MODEL_INPUT_BYTES];
static float work[KWS_WORK_FLOATS];
static const char *const class_names[MODEL_OUTPUT_BYTES] = {KWS_CLASS_NAMES};

/* Live state: samples in the window, recent outputs, time since the last detection. */
static uint32_t filled;
static int8_t history[KWS_AVERAGE][MODEL_OUTPUT_BYTES];
static uint32_t hops;
static uint32_t last_detection_hop;

void app_init(void)
{
    sensor_init();
    last_detection_hop = 0u;
}

uint8_t *app_input(uint8_t kind, uint32_t *bytes)
{
    return app_pick_input(kind, bytes, window, (uint32_t)sizeof window, features,
                          (uint32_t)sizeof features);
}

int app_infer(uint8_t kind, app_result_t *result)
{
    const int8_t *output;
    uint32_t i;
    int8_t top = -128;
    if (app_run(kind, fe_mfcc, window, features, work, result) != 0) {
        return -1;
    }
    output = result->output;
    for (i = 0; i < MODEL_OUTPUT_BYTES; ++i) {
        top = output[i] > top ? output[i] : top;
    }
    result->score = MODEL_OUTPUT_SCALE * (float)(top - MODEL_OUTPUT_ZERO_POINT);
    return 0;
}

/* Averages the last KWS_AVERAGE outputs; prints a detection when one is due. */
static void decide(const int8_t *output)
{
    int32_t best_sum = -2147483647, sum;
    uint32_t i, k, best = 0u, count;
    for (i = 0; i < MODEL_OUTPUT_BYTES; ++i) {
        history[hops % KWS_AVERAGE][i] = output[i];
    }
    ++hops;
    count = hops < KWS_AVERAGE ? hops : KWS_AVERAGE;
    for (i = 0; i < MODEL_OUTPUT_BYTES; ++i) {
        sum = 0;
        for (k = 0; k < count; ++k) {
            sum += (int32_t)history[k][i] - MODEL_OUTPUT_ZERO_POINT;
        }
        if (sum > best_sum) {
            best_sum = sum;
            best = i;
        }
    }
    {
        const float probability = MODEL_OUTPUT_SCALE * (float)best_sum / (float)count;
        const int32_t milli = (int32_t)(probability * 1000.0f + 0.5f);
        const int keyword = ((KWS_IGNORE_MASK >> best) & 1u) == 0u;
        if (keyword && milli >= KWS_THRESHOLD_MILLI &&
            (last_detection_hop == 0u || hops - last_detection_hop >= KWS_SUPPRESS_HOPS)) {
            last_detection_hop = hops;
            print_str("DETECT ");
            print_str(class_names[best]);
            print_str(" p=");
            print_milli(milli);
            print_str(" t=");
            print_milli((int32_t)((uint32_t)(hops - 1u) * KWS_HOP_SAMPLES / (KWS_SAMPLE_RATE / 1000u)
                                  + KWS_CLIP_SAMPLES / (KWS_SAMPLE_RATE / 1000u)));
            print_str("s");
            print_end();
        }
    }
}

int app_live_step(void)
{
    app_result_t result;
    uint32_t i;
    const int32_t got = sensor_read(window + filled, KWS_CLIP_SAMPLES - filled);
    if (got < 0) {
        print_str("LIVE END hops=");
        print_u32(hops);
        print_end();
        filled = 0u;
        hops = 0u;
        last_detection_hop = 0u;
        return 0;
    }
    filled += (uint32_t)got;
    if (filled < KWS_CLIP_SAMPLES) {
        return 1;
    }
    app_infer(TM_INPUT_RAW, &result);
    decide(result.output);
    for (i = 0; i + KWS_HOP_SAMPLES < KWS_CLIP_SAMPLES; ++i) { /* slide by one hop */
        window[i] = window[i + KWS_HOP_SAMPLES];
    }
    filled = KWS_CLIP_SAMPLES - KWS_HOP_SAMPLES;
    return 1;
}

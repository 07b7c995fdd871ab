/* kws: keyword spotting. MFCC front-end (tm_frontend.c) and the compiled DS-CNN (model.c).
 *
 * Test mode takes a whole one-second clip (TM_INPUT_RAW) or its features. Live mode listens as
 * the host simulator (tinyml.stream) does: one MFCC frame per hop into a ring of the model's
 * frames (tm_stream.c), the model every KWS_EVERY hops once the ring is full, and the detector
 * (tm_detect.c: averaged int8 levels, per-class thresholds, a refractory period) decides what
 * is printed as a DETECT line. At the end of a replayed recording it prints the hops, the
 * inferences, a CRC-16 of every int8 output in order (which the host can check), and the timer
 * ticks the front-end and the model took in all. */
#include <stdint.h>

#include "model.h"
#include "tinyml_app.h"
#include "tinyml_config.h"
#include "tinyml_link.h"
#include "tinyml_print.h"
#include "tinyml_sensor.h"
#include "tinyml_timer.h"
#include "tm_detect.h"
#include "tm_frontend.h"
#include "tm_frontend_tables.h"
#include "tm_stream.h"

static int16_t window[KWS_CLIP_SAMPLES];
static int8_t features[MODEL_INPUT_BYTES];
static float work[KWS_WORK_FLOATS];
static const char *const class_names[MODEL_OUTPUT_BYTES] = {KWS_CLASS_NAMES};
static const int32_t thresholds[MODEL_OUTPUT_BYTES] = {KWS_THRESHOLDS};

/* Live state: the stream's audio and frames, the detector's history, what was run. */
static int16_t stream_audio[FE_MFCC_WINDOW];
static int8_t stream_ring[FE_MFCC_FRAMES * FE_MFCC_COEFFS];
static tm_stream_t stream;
static int16_t levels[KWS_AVERAGE * MODEL_OUTPUT_BYTES];
static int32_t sums[MODEL_OUTPUT_BYTES];
static tm_detect_t detector;
static uint32_t inferences;
static uint16_t outputs_crc;
static uint32_t frontend_ticks, model_ticks; /* summed over the stream */

static void live_start(void)
{
    tm_stream_init(&stream, stream_audio, stream_ring);
    detector.classes = MODEL_OUTPUT_BYTES;
    detector.average = KWS_AVERAGE;
    detector.every = KWS_EVERY;
    detector.window_frames = FE_MFCC_FRAMES;
    detector.refractory = KWS_REFRACTORY_HOPS;
    detector.zero_point = MODEL_OUTPUT_ZERO_POINT;
    detector.thresholds = thresholds;
    tm_detect_init(&detector, levels, sums);
    inferences = 0u;
    outputs_crc = 0xFFFFu;
    frontend_ticks = model_ticks = 0u;
}

void app_init(void)
{
    sensor_init();
    live_start();
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

/* DETECT <class> p=<mean probability> t=<end of the window, s>, as tinyml.stream prints it. */
static void report(int fired)
{
    const float probability = MODEL_OUTPUT_SCALE * (float)sums[fired] / (float)KWS_AVERAGE;
    const uint32_t end_ms = ((stream.frames - 1u) * FE_MFCC_STRIDE + FE_MFCC_WINDOW) /
                            (KWS_SAMPLE_RATE / 1000u);
    print_str("DETECT ");
    print_str(class_names[fired]);
    print_str(" p=");
    print_milli((int32_t)(probability * 1000.0f + 0.5f));
    print_str(" t=");
    print_milli((int32_t)end_ms);
    print_str("s");
    print_end();
}

int app_live_step(void)
{
    app_result_t result;
    uint32_t room;
    int16_t *space = tm_stream_space(&stream, &room);
    const int32_t got = sensor_read(space, room);
    if (got < 0) {
        print_str("LIVE END hops=");
        print_u32(stream.frames);
        print_str(" inferences=");
        print_u32(inferences);
        print_str(" crc=");
        print_u32(outputs_crc);
        print_str(" frontend_ticks=");
        print_u32(frontend_ticks);
        print_str(" model_ticks=");
        print_u32(model_ticks);
        print_end();
        live_start();
        return 0;
    }
    if (got == 0) {
        return 1;
    }
    {
        const uint32_t start = timer_ticks();
        const int framed = tm_stream_commit(&stream, (uint32_t)got, work);
        frontend_ticks += timer_ticks() - start;
        if (!framed || !tm_detect_due(&detector, stream.frames)) {
            return 1;
        }
    }
    tm_stream_window(&stream, features);
    app_invoke_model(features, &result);
    model_ticks += result.model_ticks;
    ++inferences;
    outputs_crc = tm_crc16((const uint8_t *)result.output, MODEL_OUTPUT_BYTES, outputs_crc);
    {
        const int fired = tm_detect_step(&detector, result.output, stream.frames);
        if (fired >= 0) {
            report(fired);
        }
    }
    return 1;
}

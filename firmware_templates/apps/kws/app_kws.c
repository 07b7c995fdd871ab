/* kws: keyword spotting. MFCC front-end (tm_frontend.c) and the compiled DS-CNN (model.c).
 *
 * The only audio kept is the streaming front-end's 30 ms (tm_stream.c). Test mode takes a
 * one-second clip (TM_INPUT_RAW), which streams through that front-end as its loads arrive,
 * or its features; the FFT's work buffer lives in the model's arena (tm_shared_arena.c),
 * which no inference needs while the front-end runs. Only a build for `tinyml capture`
 * (KWS_CAPTURE) holds a whole clip, for the host to read. Live mode listens as
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
#include "tm_shared_arena.h"
#include "tm_stream.h"

#define CLIP_BYTES (2u * (uint32_t)KWS_CLIP_SAMPLES)
#if TM_SHARED_ARENA_BYTES < 4u * KWS_WORK_FLOATS
#error "the model's arena must hold the front-end's work (tinyml.firmware.apps: in_arena)"
#endif

#if defined(KWS_CAPTURE)
static int16_t capture_clip[KWS_CLIP_SAMPLES];
#endif
static int8_t features[MODEL_INPUT_BYTES];
static float *const work = (float *)(void *)tm_shared_arena; /* KWS_WORK_FLOATS, between inferences */
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

/* Test mode's clip, as its loads arrive: bytes taken so far, the low byte of a sample split
 * between two loads, and whether the stream holds that clip (live mode then starts afresh). */
static uint32_t clip_bytes;
static uint8_t clip_low;
static uint8_t stream_holds_clip;

static void live_start(void)
{
    stream_holds_clip = 0u;
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
#if defined(KWS_CAPTURE)
    return app_pick_input(kind, bytes, capture_clip, (uint32_t)sizeof capture_clip, features,
                          (uint32_t)sizeof features);
#else
    return app_pick_input(kind, bytes, 0, 0u, features, (uint32_t)sizeof features);
#endif
}

/* One sample of the loaded clip into the stream; the front-end's ticks when it completes a frame. */
static void clip_sample(int16_t sample)
{
    uint32_t room, start;
    *tm_stream_space(&stream, &room) = sample;
    if (room > 1u) {
        (void)tm_stream_commit(&stream, 1u, work);
        return;
    }
    start = timer_ticks();
    (void)tm_stream_commit(&stream, 1u, work);
    frontend_ticks += timer_ticks() - start;
}

/* The clip arrives in order from offset 0 (which starts it again); a resent load is taken
 * once. Returns the bytes held, or -1 for a gap or a load past the clip's end. */
static int32_t load_clip(uint32_t offset, const uint8_t *data, uint32_t count)
{
    uint32_t i;
    if (offset == 0u) {
        tm_stream_init(&stream, stream_audio, stream_ring);
        clip_bytes = 0u;
        frontend_ticks = 0u;
        stream_holds_clip = 1u;
    }
    if (stream_holds_clip == 0u || offset > clip_bytes || count > CLIP_BYTES - offset) {
        return -1;
    }
    for (i = clip_bytes - offset; i < count; ++i, ++clip_bytes) {
        if ((clip_bytes & 1u) == 0u) {
            clip_low = data[i];
        } else {
            clip_sample((int16_t)(uint16_t)((uint16_t)clip_low | ((uint16_t)data[i] << 8)));
        }
    }
    return (int32_t)(offset + count);
}

int32_t app_load(uint8_t kind, uint32_t offset, const uint8_t *data, uint32_t count)
{
    if (kind == TM_INPUT_RAW) {
        return load_clip(offset, data, count);
    }
    return app_load_input(kind, offset, data, count);
}

int app_infer(uint8_t kind, app_result_t *result)
{
    const int8_t *output;
    uint32_t i;
    int8_t top = -128;
    if (kind == TM_INPUT_RAW) {
        if (stream_holds_clip == 0u || clip_bytes != CLIP_BYTES) {
            return -1; /* no whole clip loaded */
        }
        tm_stream_window(&stream, features); /* the clip's frames: fe_mfcc() of it, byte for byte */
        app_invoke_model(features, result);
        result->feature_ticks = frontend_ticks;
    } else if (kind == TM_INPUT_FEATURES) {
        app_invoke_model(features, result);
        result->feature_ticks = 0u;
    } else {
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
    int16_t *space;
    int32_t got;
    if (stream_holds_clip != 0u) {
        live_start(); /* after test mode: listen from an empty stream */
    }
    space = tm_stream_space(&stream, &room);
    got = sensor_read(space, room);
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
        uint32_t start = timer_ticks();
        const int framed = tm_stream_commit(&stream, (uint32_t)got, work);
        frontend_ticks += timer_ticks() - start;
        if (!framed || !tm_detect_due(&detector, stream.frames)) {
            return 1;
        }
        start = timer_ticks(); /* the window in time order, normalised: front-end work too */
        tm_stream_window(&stream, features);
        frontend_ticks += timer_ticks() - start;
    }
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

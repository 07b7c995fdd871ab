/* Host runner for the streaming front-end (tm_stream.c) and the detector (tm_detect.c).
 *
 *   stream_runner push CHUNK   int16 audio on stdin, pushed CHUNK samples at a time
 *   stream_runner space        int16 audio read straight into tm_stream_space(), as a sensor does
 *     both write, per frame computed: the frame (FE_MFCC_COEFFS int8), then the window
 *     (FE_MFCC_FRAMES x FE_MFCC_COEFFS int8, in time order)
 *   stream_runner detect CLASSES AVERAGE EVERY WINDOW REFRACTORY ZERO_POINT THRESHOLD...
 *     int8 outputs [inferences, CLASSES] on stdin, one per due hop; writes "hop class score"
 *     per detection (a threshold of "never" never fires)
 *   stream_runner listen AVERAGE EVERY REFRACTORY THRESHOLD...   (built with
 *     -DSTREAM_RUNNER_MODEL and a compiled model.c): int16 audio on stdin through the stream,
 *     the model and the detector, as the device listens; writes "hop class score p_milli t_ms"
 *     per detection */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm_detect.h"
#include "tm_frontend.h"
#include "tm_frontend_tables.h"
#include "tm_stream.h"
#if defined(STREAM_RUNNER_MODEL)
#include "model.h"
#endif

#define RING_BYTES (FE_MFCC_FRAMES * FE_MFCC_COEFFS)
#define MAX_CLASSES 64
#define MAX_AVERAGE 64

static int16_t audio[FE_MFCC_WINDOW];
static int8_t ring[RING_BYTES];
static float work[2 * FE_MFCC_FFT + FE_MFCC_BANDS];

static void emit(const tm_stream_t *s)
{
    static int8_t window[RING_BYTES];
    const uint32_t newest = (s->head + RING_BYTES - FE_MFCC_COEFFS) % RING_BYTES;
    tm_stream_window(s, window);
    fwrite(s->ring + newest, 1, FE_MFCC_COEFFS, stdout);
    fwrite(window, 1, RING_BYTES, stdout);
}

static int run_push(uint32_t chunk)
{
    static int16_t input[1 << 16];
    tm_stream_t s;
    size_t got;
    if (chunk == 0u || chunk > sizeof input / sizeof input[0]) {
        return 2;
    }
    tm_stream_init(&s, audio, ring);
    while ((got = fread(input, sizeof input[0], chunk, stdin)) > 0) {
        const int16_t *x = input;
        uint32_t left = (uint32_t)got;
        while (left > 0u) {
            const uint32_t before = s.frames;
            const uint32_t took = tm_stream_push(&s, x, left, work);
            x += took;
            left -= took;
            if (s.frames != before) {
                emit(&s);
            }
        }
    }
    return 0;
}

static int run_space(void)
{
    tm_stream_t s;
    uint32_t room;
    size_t got;
    tm_stream_init(&s, audio, ring);
    for (;;) {
        int16_t *dst = tm_stream_space(&s, &room);
        got = fread(dst, sizeof dst[0], room > 97u ? 97u : room, stdin); /* a sensor's odd chunks */
        if (got == 0) {
            return 0;
        }
        if (tm_stream_commit(&s, (uint32_t)got, work)) {
            emit(&s);
        }
    }
}

static int16_t history[MAX_AVERAGE * MAX_CLASSES];
static int32_t sums[MAX_CLASSES], thresholds[MAX_CLASSES];

/* The detector from argv: the fields tm_detect_init() leaves to the caller; 0 on success. */
static int setup_detector(tm_detect_t *d, char **argv, int left)
{
    uint32_t c;
    if (d->classes == 0u || d->classes > MAX_CLASSES || d->average == 0u ||
        d->average > MAX_AVERAGE || d->every == 0u || (uint32_t)left != d->classes) {
        return 2;
    }
    for (c = 0; c < d->classes; ++c) {
        thresholds[c] = strcmp(argv[c], "never") == 0 ? TM_DETECT_NEVER
                                                      : (int32_t)strtol(argv[c], 0, 10);
    }
    d->thresholds = thresholds;
    tm_detect_init(d, history, sums);
    return 0;
}

static int run_detect(int argc, char **argv)
{
    static int8_t output[MAX_CLASSES];
    tm_detect_t d;
    uint32_t hops;
    if (argc < 8) {
        return 2;
    }
    d.classes = (uint32_t)strtoul(argv[2], 0, 10);
    d.average = (uint32_t)strtoul(argv[3], 0, 10);
    d.every = (uint32_t)strtoul(argv[4], 0, 10);
    d.window_frames = (uint32_t)strtoul(argv[5], 0, 10);
    d.refractory = (uint32_t)strtoul(argv[6], 0, 10);
    d.zero_point = (int32_t)strtol(argv[7], 0, 10);
    if (setup_detector(&d, argv + 8, argc - 8) != 0) {
        return 2;
    }
    for (hops = 1u; fread(output, 1, d.classes, stdin) == d.classes; ++hops) {
        int fired;
        while (!tm_detect_due(&d, hops)) {
            ++hops;
        }
        fired = tm_detect_step(&d, output, hops);
        if (fired >= 0) {
            printf("%lu %d %ld\n", (unsigned long)hops, fired, (long)d.sums[fired]);
        }
    }
    return 0;
}

#if defined(STREAM_RUNNER_MODEL)
/* The device's listening loop: a sensor's chunks into the stream, the model every `every`
 * hops on the window (written straight into the model's input), the detector on its output. */
static int run_listen(int argc, char **argv)
{
    static int16_t input[160];
    tm_stream_t s;
    tm_detect_t d;
    size_t got;
    if (argc < 5) {
        return 2;
    }
    d.classes = MODEL_OUTPUT_BYTES;
    d.average = (uint32_t)strtoul(argv[2], 0, 10);
    d.every = (uint32_t)strtoul(argv[3], 0, 10);
    d.window_frames = FE_MFCC_FRAMES;
    d.refractory = (uint32_t)strtoul(argv[4], 0, 10);
    d.zero_point = MODEL_OUTPUT_ZERO_POINT;
    if (MODEL_INPUT_BYTES != RING_BYTES || setup_detector(&d, argv + 5, argc - 5) != 0) {
        return 2;
    }
    tm_stream_init(&s, audio, ring);
    while ((got = fread(input, sizeof input[0], sizeof input / sizeof input[0], stdin)) > 0) {
        const int16_t *x = input;
        uint32_t left = (uint32_t)got;
        while (left > 0u) {
            const uint32_t before = s.frames;
            const uint32_t took = tm_stream_push(&s, x, left, work);
            int fired;
            x += took;
            left -= took;
            if (s.frames == before || !tm_detect_due(&d, s.frames)) {
                continue;
            }
            tm_stream_window(&s, model_input());
            model_invoke();
            fired = tm_detect_step(&d, model_output(), s.frames);
            if (fired >= 0) {
                const float p = MODEL_OUTPUT_SCALE * (float)d.sums[fired] / (float)d.average;
                const uint32_t end = (s.frames - 1u) * FE_MFCC_STRIDE + FE_MFCC_WINDOW;
                printf("%lu %d %ld %ld %lu\n", (unsigned long)s.frames, fired, (long)d.sums[fired],
                       (long)(int32_t)(p * 1000.0f + 0.5f),
                       (unsigned long)(end / (FE_MFCC_RATE / 1000u)));
            }
        }
    }
    return 0;
}
#endif

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "push") == 0) {
        return run_push((uint32_t)strtoul(argv[2], 0, 10));
    }
    if (argc == 2 && strcmp(argv[1], "space") == 0) {
        return run_space();
    }
    if (argc >= 2 && strcmp(argv[1], "detect") == 0) {
        return run_detect(argc, argv);
    }
#if defined(STREAM_RUNNER_MODEL)
    if (argc >= 2 && strcmp(argv[1], "listen") == 0) {
        return run_listen(argc, argv);
    }
#endif
    fprintf(stderr, "usage: stream_runner push CHUNK | space | detect ...\n");
    return 2;
}

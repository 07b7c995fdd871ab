/* vibration: anomaly detection. Band-energy front-end (tm_frontend.c) and the compiled
 * autoencoder (model.c); the anomaly score is the autoencoder's reconstruction error,
 *   score = mean over i of (out_scale * (out[i] - out_zp) - in_scale * (in[i] - in_zp))^2,
 * in float32, in that order, as tinyml.firmware.apps.anomaly_score computes it on the host.
 *
 * The model sees each window's band energies minus the machine's normal level per feature
 * (fe_normalize). Built in: the training machines' average (VIB_LEVELS) and VIB_THRESHOLD;
 * `tinyml calibrate` measures the machine the board is bolted to and sets both (MSG_CALIBRATE),
 * kept in the board's store where it has one (TINYML_STORE: EEPROM on the Mega), else in RAM
 * until reset or power-off.
 *
 * Live mode classifies one window per VIB_WINDOW readings, prints a WINDOW line with its score,
 * and an ALARM line once VIB_ALARM_WINDOWS windows in a row score above the threshold. With the
 * fault classifier (classifier.c, VIB_HAS_CLASSIFIER), a FAULT line follows: the fault the
 * classifier's outputs summed over the alarm's windows rank first, and its mean probability.
 * The two models share one arena (tm_shared_arena.c): the classifier runs only once the
 * autoencoder's output is used up. */
#include <stdint.h>

#include "model.h"
#include "tinyml_app.h"
#include "tinyml_config.h"
#include "tinyml_link.h"
#include "tinyml_port.h"
#include "tinyml_print.h"
#include "tinyml_sensor.h"
#include "tinyml_timer.h"
#include "tm_frontend.h"
#if defined(VIB_HAS_CLASSIFIER)
#include "classifier.h"
#endif

#define VIB_CHUNK 16u /* frames read from the sensor at a time */

/* The model's VIB_AXES axes are the first of each sensor frame (SENSOR_CHANNELS: 3 for an
 * accelerometer, the model's axes for a replayed recording). */
typedef char vib_axes_fit_the_sensor[(SENSOR_CHANNELS >= VIB_AXES) ? 1 : -1];

static int16_t window[VIB_AXES * VIB_WINDOW]; /* axis after axis, as the front-end wants */
static int8_t features[MODEL_INPUT_BYTES];
static float work[VIB_WORK_FLOATS];

static const int16_t built_in_levels[MODEL_INPUT_BYTES] FE_FLASH = {VIB_LEVELS};
/* What calibration sets, as the board's store keeps it (TINYML_STORE). */
typedef struct {
    float threshold;
    int16_t levels[MODEL_INPUT_BYTES];
} calibration_t;
static calibration_t calibration;
static uint8_t calibrated; /* 0 built-in, 1 calibrated (and stored), 2 on trial (never stored) */

#if defined(VIB_HAS_CLASSIFIER)
static const char *const class_names[] = {VIB_CLASS_NAMES};
typedef char classifier_takes_the_model_input[(CLASSIFIER_INPUT_BYTES == MODEL_INPUT_BYTES) ? 1 : -1];
#endif

static uint16_t filled;
static uint16_t anomalous_in_a_row;
static uint32_t windows_seen;

static void use_built_in_calibration(void)
{
    uint16_t i;
    for (i = 0; i < MODEL_INPUT_BYTES; ++i) {
        calibration.levels[i] = FE_I16(&built_in_levels[i]);
    }
    calibration.threshold = VIB_THRESHOLD;
    calibrated = 0u;
}

#if defined(TINYML_STORE)
static void store_calibration(void)
{
    port_store_save((const uint8_t *)&calibration, calibrated == 1u ? (uint16_t)sizeof calibration : 0u);
}

static void load_calibration(void)
{
    calibration_t stored;
    if (port_store_load((uint8_t *)&stored, (uint16_t)sizeof stored) == 0 && stored.threshold >= 0.0f) {
        calibration = stored;
        calibrated = 1u;
    }
}
#else
static void store_calibration(void)
{
}

static void load_calibration(void)
{
}
#endif

void app_init(void)
{
    sensor_init();
    use_built_in_calibration();
    load_calibration();
}

uint8_t *app_input(uint8_t kind, uint32_t *bytes)
{
    return app_pick_input(kind, bytes, window, (uint32_t)sizeof window, features,
                          (uint32_t)sizeof features);
}

static float anomaly_score(const int8_t *in, const int8_t *out)
{
    float sum = 0.0f;
    uint16_t i;
    for (i = 0; i < MODEL_OUTPUT_BYTES; ++i) {
        const float reconstructed = MODEL_OUTPUT_SCALE * (float)(out[i] - MODEL_OUTPUT_ZERO_POINT);
        const float original = MODEL_INPUT_SCALE * (float)(in[i] - MODEL_INPUT_ZERO_POINT);
        const float error = reconstructed - original;
        sum += error * error;
    }
    return sum / (float)MODEL_OUTPUT_BYTES;
}

/* The device's front-end: band energies, then minus the machine's levels. */
static void frontend(const int16_t *raw, int8_t *out, float *scratch)
{
    fe_spectrum(raw, out, scratch);
    fe_normalize(out, calibration.levels, (uint16_t)MODEL_INPUT_BYTES);
}

int app_infer(uint8_t kind, app_result_t *result)
{
    if (app_run(kind, frontend, window, features, work, result) != 0) {
        return -1;
    }
    result->score = anomaly_score(features, result->output);
    return 0;
}

#if defined(VIB_HAS_CLASSIFIER)
/* The classifier on the current model input; its int8 outputs. The shared arena's autoencoder
 * output is gone after. */
static const int8_t *run_classifier(void)
{
    int8_t *input = classifier_input();
    uint8_t i;
    for (i = 0; i < CLASSIFIER_INPUT_BYTES; ++i) {
        input[i] = features[i];
    }
    classifier_invoke();
    return classifier_output();
}

/* The class with the highest score, never "normal" (VIB_NORMAL_CLASS); the first of equals. */
static uint8_t most_likely_fault(const int16_t *scores)
{
    uint8_t i, best = VIB_NORMAL_CLASS == 0u ? 1u : 0u;
    for (i = 0; i < CLASSIFIER_OUTPUT_BYTES; ++i) {
        if (i != VIB_NORMAL_CLASS && scores[i] > scores[best]) {
            best = i;
        }
    }
    return best;
}

/* TM_MSG_FAULT: the classifier on the model input held -> fault class(1) probability(f32) the
 * classifier's int8 outputs. */
static int32_t answer_fault(uint8_t *reply, uint16_t capacity)
{
    int16_t scores[CLASSIFIER_OUTPUT_BYTES];
    const int8_t *out;
    uint8_t i, best;
    if (capacity < 5u + CLASSIFIER_OUTPUT_BYTES) {
        return TM_APP_BAD_ARGUMENT;
    }
    out = run_classifier();
    for (i = 0; i < CLASSIFIER_OUTPUT_BYTES; ++i) {
        scores[i] = out[i];
        reply[5u + i] = (uint8_t)out[i];
    }
    best = most_likely_fault(scores);
    reply[0] = best;
    tm_put_f32(reply + 1, CLASSIFIER_OUTPUT_SCALE * (float)(out[best] - CLASSIFIER_OUTPUT_ZERO_POINT));
    return (int32_t)(5u + CLASSIFIER_OUTPUT_BYTES);
}

/* Live mode: the classifier's outputs summed over the anomalous windows in a row, so the fault
 * an alarm names is the one its VIB_ALARM_WINDOWS windows point to together. */
static int16_t fault_votes[CLASSIFIER_OUTPUT_BYTES];
typedef char votes_fit_in_int16[(VIB_ALARM_WINDOWS <= 255u) ? 1 : -1];

static void vote_fault(void)
{
    const int8_t *out = run_classifier();
    uint8_t i;
    for (i = 0; i < CLASSIFIER_OUTPUT_BYTES; ++i) {
        fault_votes[i] = (int16_t)((anomalous_in_a_row == 1u ? 0 : fault_votes[i]) + out[i]);
    }
}

static void report_fault(void)
{
    const uint8_t fault = most_likely_fault(fault_votes);
    const float mean = (float)fault_votes[fault] / (float)VIB_ALARM_WINDOWS;
    print_str("FAULT ");
    print_str(class_names[fault]);
    print_str(" p=");
    print_milli((int32_t)(CLASSIFIER_OUTPUT_SCALE * (mean - (float)CLASSIFIER_OUTPUT_ZERO_POINT) * 1000.0f + 0.5f));
    print_end();
}
#endif

/* MSG_CALIBRATE: op(1) [threshold(f32) levels(int16 x n) for SET and TRY] -> state(1: 0 built-in,
 * 1 calibrated, 2 on trial: not stored) n(1) threshold(f32) levels(int16 x n); FEATURES -> the
 * model input of the last inference (int8 x n). */
static int32_t answer_state(uint8_t *reply, uint16_t capacity)
{
    uint16_t i;
    if (capacity < 6u + 2u * MODEL_INPUT_BYTES) {
        return TM_APP_BAD_ARGUMENT;
    }
    reply[0] = calibrated;
    reply[1] = (uint8_t)MODEL_INPUT_BYTES;
    tm_put_f32(reply + 2, calibration.threshold);
    for (i = 0; i < MODEL_INPUT_BYTES; ++i) {
        reply[6u + 2u * i] = (uint8_t)((uint16_t)calibration.levels[i] & 0xFFu);
        reply[7u + 2u * i] = (uint8_t)((uint16_t)calibration.levels[i] >> 8);
    }
    return (int32_t)(6u + 2u * MODEL_INPUT_BYTES);
}

int32_t app_request(uint8_t type, const uint8_t *payload, uint16_t length, uint8_t *reply,
                    uint16_t capacity)
{
    uint16_t i;
#if defined(VIB_HAS_CLASSIFIER)
    if (type == TM_MSG_FAULT && length == 0u) {
        return answer_fault(reply, capacity);
    }
#endif
    if (type != TM_MSG_CALIBRATE) {
        return TM_APP_UNKNOWN;
    }
    if (length == 1u && payload[0] == TM_CALIBRATE_GET) {
        return answer_state(reply, capacity);
    }
    if (length == 1u && payload[0] == TM_CALIBRATE_DEFAULT) {
        use_built_in_calibration();
        store_calibration();
        return answer_state(reply, capacity);
    }
    if (length == 1u && payload[0] == TM_CALIBRATE_FEATURES && capacity >= MODEL_INPUT_BYTES) {
        for (i = 0; i < MODEL_INPUT_BYTES; ++i) {
            reply[i] = (uint8_t)features[i];
        }
        return (int32_t)MODEL_INPUT_BYTES;
    }
    if (length == 5u + 2u * MODEL_INPUT_BYTES &&
        (payload[0] == TM_CALIBRATE_SET || payload[0] == TM_CALIBRATE_TRY)) {
        const float t = tm_get_f32(payload + 1);
        if (!(t >= 0.0f)) { /* a score is never negative; NaN is refused too */
            return TM_APP_BAD_ARGUMENT;
        }
        calibration.threshold = t;
        for (i = 0; i < MODEL_INPUT_BYTES; ++i) {
            calibration.levels[i] =
                (int16_t)((uint16_t)payload[5u + 2u * i] | ((uint16_t)payload[6u + 2u * i] << 8));
        }
        calibrated = payload[0] == TM_CALIBRATE_SET ? 1u : 2u;
        anomalous_in_a_row = 0u;
        if (calibrated == 1u) {
            store_calibration();
        }
        return answer_state(reply, capacity);
    }
    return TM_APP_BAD_ARGUMENT;
}


static void report(float score)
{
    const int anomalous = score > calibration.threshold;
    anomalous_in_a_row = anomalous ? (uint16_t)(anomalous_in_a_row + 1u) : 0u;
    print_str("WINDOW ");
    print_u32(windows_seen);
    print_str(" score=");
    print_milli((int32_t)(score * 1000.0f + 0.5f));
    print_str(anomalous ? " ANOMALY" : " ok");
    print_end();
#if defined(VIB_HAS_CLASSIFIER)
    if (anomalous && anomalous_in_a_row <= VIB_ALARM_WINDOWS) {
        vote_fault();
    }
#endif
    if (anomalous_in_a_row == VIB_ALARM_WINDOWS) {
        print_str("ALARM ");
        print_u32(VIB_ALARM_WINDOWS);
        print_str(" anomalous windows in a row");
        print_end();
#if defined(VIB_HAS_CLASSIFIER)
        report_fault();
#endif
    }
}

int app_live_step(void)
{
    int16_t chunk[SENSOR_CHANNELS * VIB_CHUNK];
    app_result_t result;
    uint32_t want = VIB_WINDOW - filled, k, a;
    int32_t got = sensor_read(chunk, want < VIB_CHUNK ? want : VIB_CHUNK);
    if (got < 0) {
        print_str("LIVE END windows=");
        print_u32(windows_seen);
        print_end();
        filled = 0u;
        windows_seen = 0u;
        anomalous_in_a_row = 0u;
        return 0;
    }
    for (k = 0; k < (uint32_t)got; ++k, ++filled) {
        for (a = 0; a < VIB_AXES; ++a) {
            window[a * VIB_WINDOW + filled] = chunk[SENSOR_CHANNELS * k + a];
        }
    }
    if (filled == VIB_WINDOW) {
        app_infer(TM_INPUT_RAW, &result);
        ++windows_seen;
        report(result.score);
        filled = 0u;
    }
    return 1;
}

/* vibration: anomaly detection. Band-energy front-end (tm_frontend.c) and the compiled
 * autoencoder (model.c); the anomaly score is the autoencoder's reconstruction error,
 *   score = mean over i of (out_scale * (out[i] - out_zp) - in_scale * (in[i] - in_zp))^2,
 * in float32, in that order, as tinyml.firmware.apps.anomaly_score computes it on the host.
 *
 * Live mode classifies one window per VIB_WINDOW readings, prints a WINDOW line with its score,
 * and an ALARM line once VIB_ALARM_WINDOWS windows in a row score above VIB_THRESHOLD. */
#include <stdint.h>

#include "model.h"
#include "tinyml_app.h"
#include "tinyml_config.h"
#include "tinyml_print.h"
#include "tinyml_sensor.h"
#include "tinyml_timer.h"
#include "tm_frontend.h"

#define VIB_CHUNK 16u /* frames read from the sensor at a time */

/* The model's VIB_AXES axes are the first of each sensor frame (SENSOR_CHANNELS: 3 for an
 * accelerometer, the model's axes for a replayed recording). */
typedef char vib_axes_fit_the_sensor[(SENSOR_CHANNELS >= VIB_AXES) ? 1 : -1];

static int16_t window[VIB_AXES * VIB_WINDOW]; /* axis after axis, as the front-end wants */
static int8_t features[MODEL_INPUT_BYTES];
static float work[VIB_WORK_FLOATS];

static uint16_t filled;
static uint16_t anomalous_in_a_row;
static uint32_t windows_seen;

void app_init(void)
{
    sensor_init();
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

int app_infer(uint8_t kind, app_result_t *result)
{
    if (app_run(kind, fe_spectrum, window, features, work, result) != 0) {
        return -1;
    }
    result->score = anomaly_score(features, result->output);
    return 0;
}

static void report(float score)
{
    const int anomalous = score > VIB_THRESHOLD;
    anomalous_in_a_row = anomalous ? (uint16_t)(anomalous_in_a_row + 1u) : 0u;
    print_str("WINDOW ");
    print_u32(windows_seen);
    print_str(" score=");
    print_milli((int32_t)(score * 1000.0f + 0.5f));
    print_str(anomalous ? " ANOMALY" : " ok");
    print_end();
    if (anomalous_in_a_row == VIB_ALARM_WINDOWS) {
        print_str("ALARM ");
        print_u32(VIB_ALARM_WINDOWS);
        print_str(" anomalous windows in a row");
        print_end();
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

/* TinymlVibration: readings -> window -> band energies -> autoencoder -> anomaly score.
 * The score is computed as the firmware's vibration app and the host
 * (tinyml.firmware.apps.anomaly_score) compute it: in float32, in the same order. */
#include "TinymlVibration.h"

#include "model.h"
#include "tm_frontend.h"

static int16_t window[TINYML_VIB_AXES * TINYML_VIB_WINDOW]; /* axis after axis, as fe_spectrum reads it */
static int8_t features[MODEL_INPUT_BYTES];
static float work[TINYML_VIB_WORK_FLOATS];
static int16_t levels[MODEL_INPUT_BYTES] = {TINYML_VIB_LEVELS};

static float reconstruction_error(const int8_t *in, const int8_t *out)
{
    float sum = 0.0f;
    for (uint16_t i = 0; i < MODEL_OUTPUT_BYTES; ++i) {
        const float reconstructed = MODEL_OUTPUT_SCALE * (float)(out[i] - MODEL_OUTPUT_ZERO_POINT);
        const float original = MODEL_INPUT_SCALE * (float)(in[i] - MODEL_INPUT_ZERO_POINT);
        const float error = reconstructed - original;
        sum += error * error;
    }
    return sum / (float)MODEL_OUTPUT_BYTES;
}

void TinymlVibration::begin()
{
    filled_ = 0u;
    inARow_ = 0u;
    ready_ = false;
    last_.score = 0.0f;
    last_.anomaly = false;
    last_.alarm = false;
    last_.window = 0u;
}

void TinymlVibration::calibrate(const int16_t *machine_levels, float threshold)
{
    for (uint16_t i = 0; i < MODEL_INPUT_BYTES; ++i) {
        levels[i] = machine_levels[i];
    }
    threshold_ = threshold;
    inARow_ = 0u;
}

bool TinymlVibration::feed(int16_t x, int16_t y, int16_t z)
{
    window[filled_] = x;
    window[TINYML_VIB_WINDOW + filled_] = y;
    window[2u * TINYML_VIB_WINDOW + filled_] = z;
    if (++filled_ < TINYML_VIB_WINDOW) {
        return false;
    }
    filled_ = 0u;
    fe_spectrum(window, features, work);
    fe_normalize(features, levels, (uint16_t)MODEL_INPUT_BYTES);
    int8_t *input = model_input(); /* inside the arena, which the model reuses: copy in every time */
    for (uint16_t i = 0; i < MODEL_INPUT_BYTES; ++i) {
        input[i] = features[i];
    }
    model_invoke();
    last_.score = reconstruction_error(features, model_output());
    last_.anomaly = last_.score > threshold_;
    inARow_ = last_.anomaly ? (uint16_t)(inARow_ + 1u) : (uint16_t)0u;
    last_.alarm = inARow_ >= TINYML_VIB_ALARM_WINDOWS;
    ++last_.window;
    ready_ = true;
    return true;
}

bool TinymlVibration::ready() const
{
    return ready_;
}

TinymlAnomaly TinymlVibration::result()
{
    ready_ = false;
    return last_;
}

float TinymlVibration::threshold() const
{
    return threshold_;
}

const int8_t *TinymlVibration::output() const
{
    return model_output();
}

uint16_t TinymlVibration::outputBytes() const
{
    return (uint16_t)MODEL_OUTPUT_BYTES;
}

/* TinymlKws: samples -> sliding one-clip window -> MFCC -> DS-CNN -> the top class. */
#include "TinymlKws.h"

#include "model.h"
#include "tm_frontend.h"

static int16_t window[TINYML_KWS_CLIP_SAMPLES];
static int8_t features[MODEL_INPUT_BYTES];
static float work[TINYML_KWS_WORK_FLOATS];
static const char *const labels[MODEL_OUTPUT_BYTES] = {TINYML_KWS_CLASS_NAMES};

void TinymlKws::begin()
{
    filled_ = 0u;
    ready_ = false;
    last_.index = 0;
    last_.label = labels[0];
    last_.score = 0.0f;
    last_.keyword = false;
    last_.window = 0u;
}

bool TinymlKws::feed(int16_t sample)
{
    window[filled_++] = sample;
    if (filled_ < TINYML_KWS_CLIP_SAMPLES) {
        return false;
    }
    fe_mfcc(window, features, work);
    int8_t *input = model_input(); /* inside the arena, which the model reuses: copy in every time */
    for (uint32_t i = 0; i < MODEL_INPUT_BYTES; ++i) {
        input[i] = features[i];
    }
    model_invoke();
    const int8_t *output = model_output();
    uint16_t best = 0u;
    for (uint16_t i = 1u; i < MODEL_OUTPUT_BYTES; ++i) {
        if (output[i] > output[best]) {
            best = i;
        }
    }
    last_.index = (int16_t)best;
    last_.label = labels[best];
    last_.score = MODEL_OUTPUT_SCALE * (float)(output[best] - MODEL_OUTPUT_ZERO_POINT);
    last_.keyword = ((TINYML_KWS_IGNORE_MASK >> best) & 1u) == 0u &&
                    last_.score >= TINYML_KWS_THRESHOLD;
    ++last_.window;
    ready_ = true;
    for (uint32_t i = 0; i + TINYML_KWS_HOP_SAMPLES < TINYML_KWS_CLIP_SAMPLES; ++i) { /* slide by one hop */
        window[i] = window[i + TINYML_KWS_HOP_SAMPLES];
    }
    filled_ = TINYML_KWS_CLIP_SAMPLES - TINYML_KWS_HOP_SAMPLES;
    return true;
}

bool TinymlKws::ready() const
{
    return ready_;
}

TinymlKeyword TinymlKws::result()
{
    ready_ = false;
    return last_;
}

uint16_t TinymlKws::classes() const
{
    return (uint16_t)MODEL_OUTPUT_BYTES;
}

const char *TinymlKws::label(uint16_t index) const
{
    return index < MODEL_OUTPUT_BYTES ? labels[index] : "";
}

const int8_t *TinymlKws::output() const
{
    return model_output();
}

uint16_t TinymlKws::outputBytes() const
{
    return (uint16_t)MODEL_OUTPUT_BYTES;
}

/* TinymlKws: samples -> streaming MFCC (one frame per hop) -> DS-CNN -> the top class. */
#include "TinymlKws.h"

#include "model.h"
#include "tm_frontend.h"
#include "tm_frontend_tables.h"
#include "tm_shared_arena.h"
#include "tm_stream.h"

#if TM_SHARED_ARENA_BYTES < 4u * TINYML_KWS_WORK_FLOATS
#error "the model's arena must hold the front-end's work (tinyml.firmware.apps: in_arena)"
#endif

/* The last 30 ms of audio and the newest frames (tm_stream.c): no clip is kept. The FFT works
 * in the model's arena, which no inference needs while a frame is computed. */
static int16_t audio[FE_MFCC_WINDOW];
static int8_t ring[FE_MFCC_FRAMES * FE_MFCC_COEFFS];
static tm_stream_t stream;
static int8_t features[MODEL_INPUT_BYTES];
static const char *const labels[MODEL_OUTPUT_BYTES] = {TINYML_KWS_CLASS_NAMES};

void TinymlKws::begin()
{
    tm_stream_init(&stream, audio, ring);
    ready_ = false;
    last_.index = 0;
    last_.label = labels[0];
    last_.score = 0.0f;
    last_.keyword = false;
    last_.window = 0u;
}

bool TinymlKws::feed(int16_t sample)
{
    uint32_t room;
    *tm_stream_space(&stream, &room) = sample;
    if (!tm_stream_commit(&stream, 1u, (float *)(void *)tm_shared_arena) || !tm_stream_full(&stream) ||
        (stream.frames - FE_MFCC_FRAMES) % TINYML_KWS_HOP_FRAMES != 0u) {
        return false;
    }
    tm_stream_window(&stream, features); /* fe_mfcc() of the last clip, byte for byte */
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

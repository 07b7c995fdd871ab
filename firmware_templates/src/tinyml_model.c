/* The compiled model as every app runs it (app_invoke_model() in tinyml_app.h), and the plain
 * input loader every app but a streaming one uses (app_load_input()). */
#include "tinyml_app.h"
#include "tinyml_config.h"

int32_t app_load_input(uint8_t kind, uint32_t offset, const uint8_t *data, uint32_t count)
{
    uint32_t capacity = 0u, i;
    uint8_t *buffer = app_input(kind, &capacity);
    if (buffer == 0 || offset > capacity || count > capacity - offset) {
        return -1;
    }
    for (i = 0; i < count; ++i) {
        buffer[offset + i] = data[i];
    }
    return (int32_t)(offset + count);
}

#if defined(TINYML_HAS_MODEL) /* apps with a model; the skeleton has none */
#include "model.h"
#include "tinyml_timer.h"

uint8_t *app_pick_input(uint8_t kind, uint32_t *bytes, void *raw, uint32_t raw_bytes,
                        int8_t *features, uint32_t feature_bytes)
{
    if (kind == TM_INPUT_RAW) {
        *bytes = raw_bytes;
        return (uint8_t *)raw;
    }
    if (kind == TM_INPUT_FEATURES) {
        *bytes = feature_bytes;
        return (uint8_t *)features;
    }
    *bytes = 0u;
    return 0;
}

int app_run(uint8_t kind, app_frontend_t frontend, const int16_t *raw, int8_t *features,
            float *work, app_result_t *result)
{
    uint32_t start;
    if (kind != TM_INPUT_RAW && kind != TM_INPUT_FEATURES) {
        return -1;
    }
    result->feature_ticks = 0u;
    if (kind == TM_INPUT_RAW) {
        start = timer_ticks();
        frontend(raw, features, work);
        result->feature_ticks = timer_ticks() - start;
    }
    app_invoke_model(features, result);
    return 0;
}

void app_invoke_model(const int8_t *features, app_result_t *result)
{
    int8_t *input = model_input(); /* inside the arena, which the model reuses: copy in every time */
    uint32_t i, start;
    for (i = 0; i < MODEL_INPUT_BYTES; ++i) {
        input[i] = features[i];
    }
    start = timer_ticks();
    model_invoke();
    result->model_ticks = timer_ticks() - start;
    result->output = model_output();
    result->output_bytes = (uint16_t)MODEL_OUTPUT_BYTES;
}
#endif

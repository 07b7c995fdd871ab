/* The compiled model as every app runs it: see app_invoke_model() in tinyml_app.h. */
#include "tinyml_app.h"
#include "tinyml_config.h"

#if defined(TINYML_HAS_MODEL) /* apps with a model; the skeleton has none */
#include "model.h"
#include "tinyml_timer.h"

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

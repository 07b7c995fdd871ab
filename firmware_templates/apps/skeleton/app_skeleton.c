/* skeleton: no model, no sensor. The firmware only answers info requests, which proves the
 * board, the port and the serial link before any model is involved. */
#include "tinyml_app.h"

void app_init(void)
{
}

uint8_t *app_input(uint8_t kind, uint32_t *bytes)
{
    (void)kind;
    *bytes = 0u;
    return 0;
}

int app_infer(uint8_t kind, app_result_t *result)
{
    (void)kind;
    (void)result;
    return -1;
}

int app_live_step(void)
{
    return 0;
}

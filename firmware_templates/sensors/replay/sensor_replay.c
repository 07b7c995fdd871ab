/* Replay "sensor" for boards without one (the emulated boards): plays back the recording that
 * `tinyml build` embedded in replay_data.h, as fast as the app reads it. At the end it
 * reports -1 once and rewinds, so the next live mode starts from the beginning. */
#include "replay_data.h"
#include "tinyml_sensor.h"

static uint32_t position;

void sensor_init(void)
{
    position = 0u;
}

int32_t sensor_read(int16_t *dst, uint32_t max)
{
    uint32_t n, i, c;
    if (position >= REPLAY_FRAMES) {
        position = 0u;
        return -1;
    }
    n = REPLAY_FRAMES - position;
    n = n < max ? n : max;
    for (i = 0; i < n; ++i) {
        for (c = 0; c < REPLAY_CHANNELS; ++c) {
            dst[i * REPLAY_CHANNELS + c] = REPLAY_READ(&replay_data[(position + i) * REPLAY_CHANNELS + c]);
        }
    }
    position += n;
    return (int32_t)n;
}

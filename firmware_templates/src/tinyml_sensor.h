/* What a sensor port (sensors/<name>/) provides: the newest samples, polled.
 *
 * Audio apps read int16 samples at the front-end's rate; motion apps read x, y, z triples of
 * int16 accelerometer counts (SENSOR_G_PER_COUNT g each) at SENSOR_RATE_HZ: frames of
 * SENSOR_CHANNELS values. Emulated boards have no sensors: sensors/replay plays back a recording
 * embedded at build time, in frames of the model's axes. */
#ifndef TINYML_SENSOR_H
#define TINYML_SENSOR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void sensor_init(void);
/* Up to max new samples (audio) or triples (motion) into dst. Returns how many, 0 when none
 * are ready yet, or -1 once the source has ended (a replayed recording). Never blocks long. */
int32_t sensor_read(int16_t *dst, uint32_t max);

#ifdef __cplusplus
}
#endif

#endif

/* A free-running tick counter for timing on the device (see each port's timer_*.c). What a
 * tick is (instructions, microseconds, cycles) is the board's [firmware.timer] setting. */
#ifndef TINYML_TIMER_H
#define TINYML_TIMER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

uint32_t timer_ticks(void);

#ifdef __cplusplus
}
#endif

#endif

/* A free-running tick counter for timing on the device (see each port's timer_*.c). */
#ifndef TINYML_TIMER_H
#define TINYML_TIMER_H

#include <stdint.h>

uint32_t timer_ticks(void);

#endif

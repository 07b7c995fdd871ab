/* Timer for the host-native board: the monotonic clock in microseconds. */
#define _POSIX_C_SOURCE 199309L
#include <time.h>

#include "tinyml_timer.h"

uint32_t timer_ticks(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint32_t)((uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u);
}

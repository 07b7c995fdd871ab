/* Timer for Arduino cores without a cycle counter we use (ESP32, RP2040): micros(). */
#include <Arduino.h>

#include "tinyml_timer.h"

extern "C" uint32_t timer_ticks(void)
{
    return (uint32_t)micros();
}

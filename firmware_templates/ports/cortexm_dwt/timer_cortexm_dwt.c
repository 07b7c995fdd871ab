/* Timer for real Cortex-M3/M4/M7/M33 boards: the DWT cycle counter, enabled on first use.
 * (QEMU does not model the DWT: emulated boards use mps_fpgaio instead.) */
#include "tinyml_timer.h"

#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)

uint32_t timer_ticks(void)
{
    static int started;
    if (!started) {
        started = 1;
        DEMCR |= 1u << 24; /* TRCENA: turn the trace blocks on */
        DWT_CYCCNT = 0u;
        DWT_CTRL |= 1u;    /* CYCCNTENA */
    }
    return DWT_CYCCNT;
}

/* Timer for the emulated MPS2/MPS3 boards: the FPGAIO free-running COUNTER register.
 * QEMU does not model the DWT cycle counter; under -icount shift=0 one virtual nanosecond
 * is one executed instruction, so COUNTER ticks count instructions (40 per tick on
 * mps2-an386 at 25 MHz, 50 on mps3-an547 at 20 MHz): instructions, not cycles. */
#include "tinyml_config.h"
#include "tinyml_timer.h"

uint32_t timer_ticks(void)
{
    return *(volatile const uint32_t *)(TINYML_FPGAIO_BASE + 0x18u);
}

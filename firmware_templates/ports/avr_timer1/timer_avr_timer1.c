/* Timer for AVR boards: Timer1 at F_CPU / 8, its overflows counted in an interrupt to make 32
 * bits. 0.5 us per tick at 16 MHz; under QEMU's -icount shift=0 (1 ns per instruction) a tick
 * is 500 instructions. */
#include <avr/interrupt.h>
#include <avr/io.h>

#include "tinyml_timer.h"

static volatile uint16_t overflows;

ISR(TIMER1_OVF_vect)
{
    ++overflows;
}

static void start(void)
{
    TCCR1A = 0u;
    TCCR1B = (uint8_t)(1u << CS11); /* clk / 8 */
    TIMSK1 = (uint8_t)(1u << TOIE1);
    sei();
}

uint32_t timer_ticks(void)
{
    static uint8_t started;
    uint16_t high, low;
    uint8_t sreg;
    if (!started) {
        started = 1u;
        start();
    }
    sreg = SREG;
    cli();
    low = TCNT1;
    high = overflows;
    if ((TIFR1 & (1u << TOV1)) != 0u && low < 0x8000u) {
        ++high; /* it overflowed after cli(); the interrupt has not counted it yet */
    }
    SREG = sreg;
    return ((uint32_t)high << 16) | low;
}

/* bench: times the compiled model on the board and prints what it computed.
 *
 * Prints, one line each, over the board's UART:
 *   CAL <ticks>                      ticks for a loop of exactly 1,000,000 instructions
 *   OUT <k> <ticks> <output hex>     per embedded input k: ticks of model_invoke() and its output
 *   OP <index> <ticks>               per operator, for the last input (built with -DTM_PROFILE)
 *   DONE
 * The host turns ticks into instructions with the calibration and checks every output byte. */
#include <stdint.h>

#include "bench_inputs.h"
#include "model.h"
#include "tinyml_port.h"
#include "tinyml_print.h"
#include "tinyml_timer.h"

static uint32_t calibrate(void)
{
    /* 500,000 iterations of two instructions (subs, bne): 1,000,000 instructions. */
    uint32_t n = 500000u;
    const uint32_t start = timer_ticks();
    __asm volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
    return timer_ticks() - start;
}

#if defined(TM_PROFILE)
static uint32_t op_ticks[256];

void tm_profile_op(int op, int end)
{
    if (op >= 0 && op < 256) {
        op_ticks[op] = end ? timer_ticks() - op_ticks[op] : timer_ticks();
    }
}
#endif

int main(void)
{
    uint32_t k, i;
    port_init();
    print_str("CAL ");
    print_u32(calibrate());
    print_str("\n");
    for (k = 0; k < BENCH_INPUT_COUNT; ++k) {
        int8_t *input = model_input();
        uint32_t start, ticks;
        for (i = 0; i < MODEL_INPUT_BYTES; ++i) {
            input[i] = bench_inputs[k][i]; /* the arena is reused in place: write it every time */
        }
        start = timer_ticks();
        model_invoke();
        ticks = timer_ticks() - start;
        print_str("OUT ");
        print_u32(k);
        print_str(" ");
        print_u32(ticks);
        print_str(" ");
        print_hex(model_output(), MODEL_OUTPUT_BYTES);
        print_str("\n");
    }
#if defined(TM_PROFILE)
    for (k = 0; k < 256; ++k) {
        if (op_ticks[k] != 0u) {
            print_str("OP ");
            print_u32(k);
            print_str(" ");
            print_u32(op_ticks[k]);
            print_str("\n");
        }
    }
#endif
    print_str("STACK ");
    print_u32(port_stack_peak()); /* bytes, 0 where the port does not measure it */
    print_str("\n");
    print_str("DONE\n");
    for (;;) {
    }
}

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
#include "tinyml_timer.h"

static void put(const char *s)
{
    const char *end = s;
    while (*end != '\0') {
        ++end;
    }
    port_write((const uint8_t *)s, (size_t)(end - s));
}

static void put_u32(uint32_t v)
{
    char digits[11];
    char *p = digits + sizeof digits - 1;
    *p = '\0';
    do {
        *--p = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    put(p);
}

static void put_hex(const int8_t *bytes, uint32_t n)
{
    static const char hex[] = "0123456789abcdef";
    uint32_t i;
    for (i = 0; i < n; ++i) {
        char pair[3];
        pair[0] = hex[((uint8_t)bytes[i]) >> 4];
        pair[1] = hex[((uint8_t)bytes[i]) & 0xFu];
        pair[2] = '\0';
        put(pair);
    }
}

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
    put("CAL ");
    put_u32(calibrate());
    put("\n");
    for (k = 0; k < BENCH_INPUT_COUNT; ++k) {
        int8_t *input = model_input();
        uint32_t start, ticks;
        for (i = 0; i < MODEL_INPUT_BYTES; ++i) {
            input[i] = bench_inputs[k][i]; /* the arena is reused in place: write it every time */
        }
        start = timer_ticks();
        model_invoke();
        ticks = timer_ticks() - start;
        put("OUT ");
        put_u32(k);
        put(" ");
        put_u32(ticks);
        put(" ");
        put_hex(model_output(), MODEL_OUTPUT_BYTES);
        put("\n");
    }
#if defined(TM_PROFILE)
    for (k = 0; k < 256; ++k) {
        if (op_ticks[k] != 0u) {
            put("OP ");
            put_u32(k);
            put(" ");
            put_u32(op_ticks[k]);
            put("\n");
        }
    }
#endif
    put("DONE\n");
    for (;;) {
    }
}

/* The whole device side (frame receiver, request dispatch, MLPerf text commands, an app with
 * its model and front-end) fed from stdin, as a port that reads a byte stream and discards
 * what the firmware sends. Built with ASan and UBSan by tests/test_validate.py, which streams
 * random, damaged and hostile requests through it: any out-of-bounds access aborts. */
#include <stdio.h>
#include <stdlib.h>

#include "tinyml_device.h"
#include "tinyml_port.h"
#include "tinyml_timer.h"

static unsigned long written;

void port_init(void)
{
}

int port_read_byte(void)
{
    static unsigned calls;
    int c;
    if (++calls % 64u == 0u) {
        return -1; /* "nothing waiting" now and then, so live mode gets its turns too */
    }
    c = getchar();
    if (c == EOF) {
        printf("OK written=%lu\n", written);
        exit(0);
    }
    return c;
}

void port_write(const uint8_t *data, size_t length)
{
    (void)data;
    written += (unsigned long)length;
}

void port_idle(void)
{
}

uint32_t timer_ticks(void)
{
    static uint32_t ticks;
    return ticks++;
}

int main(void)
{
    tinyml_device_init();
    for (;;) {
        tinyml_device_poll();
    }
}

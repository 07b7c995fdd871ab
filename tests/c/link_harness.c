/* Feeds stdin through the firmware's frame receiver (tinyml_link.c) and prints what it decodes:
 * "F type seq payload-hex" per frame, "E code" per damaged frame. Built with ASan and UBSan by
 * tests/test_link_frame.py, which compares the output with the Python decoder's. */
#include <stdio.h>

#include "tinyml_link.h"

static uint8_t buffer[4096];

int main(void)
{
    tm_rx_t rx;
    int c;
    tm_rx_init(&rx, buffer, (uint16_t)sizeof buffer);
    while ((c = getchar()) != EOF) {
        tm_frame_t frame;
        uint8_t error = 0;
        int status = tm_rx_feed(&rx, (uint8_t)c, &frame, &error);
        if (status == TM_RX_FRAME) {
            uint16_t i;
            printf("F %u %u ", frame.type, frame.seq);
            for (i = 0; i < frame.length; ++i) {
                printf("%02x", frame.payload[i]);
            }
            printf("\n");
        } else if (status == TM_RX_ERROR) {
            printf("E %u\n", error);
        }
    }
    return 0;
}

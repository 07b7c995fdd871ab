/* Entry point for bare-metal and host boards; Arduino boards use ports/arduino instead. */
#include "tinyml_device.h"

int main(void)
{
    tinyml_device_init();
    for (;;) {
        tinyml_device_poll();
    }
}

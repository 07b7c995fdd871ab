/* Port for boards on an Arduino core (AVR Mega 2560, ESP32, Nano 33 BLE, RP2040): Serial is the link. */
#include <Arduino.h>
#if defined(__AVR__)
#include <util/atomic.h>
#endif

#include "tinyml_config.h"
#include "tinyml_device.h"
#include "tinyml_port.h"
#include "tinyml_timer.h"

extern "C" void port_init(void)
{
    Serial.begin(TINYML_BAUD);
#if defined(__AVR__)
    /* Start the timer (Timer1) now, not at the first inference. Under QEMU, bytes the host sent
     * before Serial.begin() enabled the receiver wait until the emulator's main loop wakes up,
     * and a running timer is what wakes it; on the board this changes nothing. */
    (void)timer_ticks();
#endif
}

extern "C" int port_read_byte(void)
{
#if defined(__AVR__) && defined(SERIAL_RX_BUFFER_SIZE) && SERIAL_RX_BUFFER_SIZE > 256
    /* A ring this large has 16-bit indices, which the AVR core reads without holding off its
     * receive interrupt: a torn read could take a byte not yet written. */
    int byte;
    ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
        byte = Serial.read();
    }
    return byte;
#else
    return Serial.read(); /* -1 when nothing is waiting */
#endif
}

extern "C" void port_write(const uint8_t *data, size_t length)
{
    Serial.write(data, length);
}

extern "C" void port_idle(void)
{
}

void setup()
{
    tinyml_device_init();
}

void loop()
{
    tinyml_device_poll();
}

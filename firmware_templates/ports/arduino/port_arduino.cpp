/* Port for real boards on the Arduino core (ESP32, Nano 33 BLE, RP2040): Serial is the link. */
#include <Arduino.h>

#include "tinyml_config.h"
#include "tinyml_device.h"
#include "tinyml_port.h"

extern "C" void port_init(void)
{
    Serial.begin(TINYML_BAUD);
}

extern "C" int port_read_byte(void)
{
    return Serial.available() > 0 ? Serial.read() : -1;
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

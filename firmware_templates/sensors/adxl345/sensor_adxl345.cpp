/* ADXL345 accelerometer on I2C (address 0x53), full resolution at +-2 g: 3.9 mg per count,
 * which is the front-end's SENSOR_G_PER_COUNT, so counts pass through unscaled. Output data
 * rate 3200 Hz; samples are paced by micros() at SENSOR_RATE_HZ. */
#include <Arduino.h>
#include <Wire.h>

#include "tinyml_config.h"
#include "tinyml_sensor.h"

#define ADXL345 0x53

static uint32_t next_us;

static void write_register(uint8_t reg, uint8_t value)
{
    Wire.beginTransmission(ADXL345);
    Wire.write(reg);
    Wire.write(value);
    Wire.endTransmission();
}

extern "C" void sensor_init(void)
{
    Wire.begin();
    Wire.setClock(400000);
    write_register(0x2C, 0x0F); /* BW_RATE: 3200 Hz */
    write_register(0x31, 0x08); /* DATA_FORMAT: full resolution, +-2 g */
    write_register(0x2D, 0x08); /* POWER_CTL: measure */
    next_us = micros();
}

extern "C" int32_t sensor_read(int16_t *dst, uint32_t max)
{
    uint32_t n = 0, i;
    while (n < max && (int32_t)(micros() - next_us) >= 0) {
        uint8_t raw[6];
        next_us += 1000000UL / SENSOR_RATE_HZ;
        Wire.beginTransmission(ADXL345);
        Wire.write(0x32); /* DATAX0 */
        Wire.endTransmission(false);
        Wire.requestFrom(ADXL345, 6);
        for (i = 0; i < 6u; ++i) {
            raw[i] = Wire.available() ? (uint8_t)Wire.read() : 0u;
        }
        for (i = 0; i < 3u; ++i) {
            dst[3 * n + i] = (int16_t)(raw[2 * i] | (raw[2 * i + 1] << 8));
        }
        ++n;
    }
    return (int32_t)n;
}

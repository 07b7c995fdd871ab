/* MPU-6050 accelerometer on I2C (address 0x68) at +-2 g (16384 counts per g), rescaled to
 * counts of SENSOR_G_PER_COUNT g. Its accelerometer updates at 1 kHz at most: train with
 * sample_rate = 1000 for this sensor. Samples are paced by micros() at SENSOR_RATE_HZ. */
#include <Arduino.h>
#include <Wire.h>

#include "tinyml_config.h"
#include "tinyml_sensor.h"

#define MPU6050 0x68

static uint32_t next_us;

static void write_register(uint8_t reg, uint8_t value)
{
    Wire.beginTransmission(MPU6050);
    Wire.write(reg);
    Wire.write(value);
    Wire.endTransmission();
}

extern "C" void sensor_init(void)
{
    Wire.begin();
    Wire.setClock(400000);
    write_register(0x6B, 0x00); /* PWR_MGMT_1: wake up */
    write_register(0x1C, 0x00); /* ACCEL_CONFIG: +-2 g */
    write_register(0x1A, 0x00); /* CONFIG: widest bandwidth */
    next_us = micros();
}

extern "C" int32_t sensor_read(int16_t *dst, uint32_t max)
{
    const float scale = 1.0f / (16384.0f * SENSOR_G_PER_COUNT);
    uint32_t n = 0, i;
    while (n < max && (int32_t)(micros() - next_us) >= 0) {
        uint8_t raw[6];
        next_us += 1000000UL / SENSOR_RATE_HZ;
        Wire.beginTransmission(MPU6050);
        Wire.write(0x3B); /* ACCEL_XOUT_H */
        Wire.endTransmission(false);
        Wire.requestFrom(MPU6050, 6);
        for (i = 0; i < 6u; ++i) {
            raw[i] = Wire.available() ? (uint8_t)Wire.read() : 0u;
        }
        for (i = 0; i < 3u; ++i) {
            const int16_t v = (int16_t)((raw[2 * i] << 8) | raw[2 * i + 1]);
            dst[3 * n + i] = (int16_t)((float)v * scale);
        }
        ++n;
    }
    return (int32_t)n;
}

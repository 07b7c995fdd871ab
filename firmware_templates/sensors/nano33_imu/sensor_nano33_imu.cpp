/* On-board IMU of the Arduino Nano 33 BLE Sense: LSM9DS1 (rev1) or BMI270 (rev2, build with
 * -DSENSOR_IMU_BMI270). Both libraries give acceleration in g, turned here into counts of
 * SENSOR_G_PER_COUNT g. Samples are taken as the IMU makes them (LSM9DS1: 119 Hz by default,
 * so train with the sample rate of your IMU's setting: see README, "Real boards"). */
#include <Arduino.h>
#if defined(SENSOR_IMU_BMI270)
#include <Arduino_BMI270_BMM150.h>
#else
#include <Arduino_LSM9DS1.h>
#endif

#include "tinyml_config.h"
#include "tinyml_sensor.h"

static int16_t to_counts(float g)
{
    const float c = g / SENSOR_G_PER_COUNT;
    return (int16_t)(c > 32767.0f ? 32767 : (c < -32768.0f ? -32768 : (int)c));
}

extern "C" void sensor_init(void)
{
    if (!IMU.begin()) {
        Serial.println("IMU did not start");
    }
}

extern "C" int32_t sensor_read(int16_t *dst, uint32_t max)
{
    uint32_t n = 0;
    float x, y, z;
    while (n < max && IMU.accelerationAvailable()) {
        IMU.readAcceleration(x, y, z);
        dst[3 * n] = to_counts(x);
        dst[3 * n + 1] = to_counts(y);
        dst[3 * n + 2] = to_counts(z);
        ++n;
    }
    return (int32_t)n;
}

/* INMP441-type I2S MEMS microphone on an ESP32 (pins from the board file): 16 kHz, 32-bit
 * slots of which the top 24 bits hold the sample, scaled to int16 by SENSOR_I2S_SHIFT. */
#include <Arduino.h>
#include <driver/i2s.h>

#include "tinyml_config.h"
#include "tinyml_sensor.h"

extern "C" void sensor_init(void)
{
    i2s_config_t config = {};
    config.mode = (i2s_mode_t)(I2S_MODE_MASTER | I2S_MODE_RX);
    config.sample_rate = SENSOR_RATE_HZ;
    config.bits_per_sample = I2S_BITS_PER_SAMPLE_32BIT;
    config.channel_format = I2S_CHANNEL_FMT_ONLY_LEFT; /* L/R pin tied low */
    config.communication_format = I2S_COMM_FORMAT_STAND_I2S;
    config.dma_buf_count = 8;
    config.dma_buf_len = 256;
    i2s_pin_config_t pins = {};
    pins.bck_io_num = SENSOR_I2S_SCK;
    pins.ws_io_num = SENSOR_I2S_WS;
    pins.data_out_num = I2S_PIN_NO_CHANGE;
    pins.data_in_num = SENSOR_I2S_SD;
    if (i2s_driver_install(I2S_NUM_0, &config, 0, NULL) != ESP_OK ||
        i2s_set_pin(I2S_NUM_0, &pins) != ESP_OK) {
        Serial.println("I2S microphone did not start: check SENSOR_I2S_* pins");
    }
}

extern "C" int32_t sensor_read(int16_t *dst, uint32_t max)
{
    int32_t slots[128];
    size_t bytes = 0;
    uint32_t want = max < 128u ? max : 128u, i;
    i2s_read(I2S_NUM_0, slots, want * sizeof slots[0], &bytes, 0); /* never wait */
    for (i = 0; i < bytes / sizeof slots[0]; ++i) {
        int32_t v = slots[i] >> SENSOR_I2S_SHIFT;
        dst[i] = (int16_t)(v > 32767 ? 32767 : (v < -32768 ? -32768 : v));
    }
    return (int32_t)(bytes / sizeof slots[0]);
}

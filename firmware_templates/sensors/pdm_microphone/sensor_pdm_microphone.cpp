/* PDM microphone of the Arduino Nano 33 BLE Sense (MP34DT05), through the core's PDM library:
 * 16 kHz mono int16. The PDM interrupt fills a ring; sensor_read() empties it. */
#include <Arduino.h>
#include <PDM.h>

#include "tinyml_config.h"
#include "tinyml_sensor.h"

#define RING 4096u /* 256 ms of audio: room for one inference between reads */

static int16_t ring[RING];
static volatile uint32_t head; /* written by the interrupt */
static uint32_t tail;

static void on_pdm_data()
{
    int16_t block[256];
    int bytes = PDM.available();
    int n, i;
    bytes = bytes > (int)sizeof block ? (int)sizeof block : bytes;
    n = PDM.read(block, bytes) / 2;
    for (i = 0; i < n; ++i) {
        ring[(head + (uint32_t)i) % RING] = block[i];
    }
    head += (uint32_t)n;
}

extern "C" void sensor_init(void)
{
    PDM.onReceive(on_pdm_data);
    PDM.setGain(SENSOR_PDM_GAIN);
    if (!PDM.begin(1, SENSOR_RATE_HZ)) {
        Serial.println("PDM microphone did not start");
    }
}

extern "C" int32_t sensor_read(int16_t *dst, uint32_t max)
{
    uint32_t n = 0;
    const uint32_t available = head - tail;
    if (available > RING) {
        tail = head - RING; /* we fell behind: drop the oldest audio */
    }
    while (tail != head && n < max) {
        dst[n++] = ring[tail++ % RING];
    }
    return (int32_t)n;
}

/* Capture of raw sensor frames for the host: see tinyml_capture.h. */
#include "tinyml_capture.h"

#include "tinyml_app.h"
#include "tinyml_config.h"
#include "tinyml_link.h"

#if defined(TINYML_HAS_MODEL) /* apps with a sensor; the skeleton has none */
#include "tinyml_sensor.h"

#if !defined(SENSOR_G_PER_COUNT)
#define SENSOR_G_PER_COUNT 0.0f /* audio: samples, not accelerations */
#endif

static int16_t *ring;
static uint32_t ring_frames;
static uint32_t read_index; /* frames taken from the sensor since start */
static uint32_t acked;      /* frames the host has: the ring holds [acked, read_index) */
static uint32_t limit;      /* frames to take in all (0: until stopped) */
static uint8_t active, flags;

void capture_poll(void)
{
    while (active != 0u && flags == 0u) {
        const uint32_t at = read_index % ring_frames;
        const uint32_t to_end = ring_frames - at;
        uint32_t room = ring_frames - (read_index - acked);
        int32_t got;
        if (limit != 0u && read_index == limit) {
            return; /* all that was asked for is in the ring */
        }
        if (limit != 0u && limit - read_index < room) {
            room = limit - read_index;
        }
        if (room == 0u) {
#if !defined(SENSOR_WAITS)
            flags |= TM_CAPTURE_OVERRUN;
#endif
            return;
        }
        got = sensor_read(ring + at * SENSOR_CHANNELS, room < to_end ? room : to_end);
        if (got < 0) {
            flags |= TM_CAPTURE_ENDED;
        } else if (got == 0) {
            return;
        } else {
            read_index += (uint32_t)got;
        }
    }
}

void capture_stop(void)
{
    active = 0u;
}

int capture_active(void)
{
    return active;
}

static int32_t start(const uint8_t *payload, uint8_t *reply)
{
    uint32_t bytes = 0u;
    ring = (int16_t *)(void *)app_input(TM_INPUT_RAW, &bytes);
    ring_frames = bytes / (2u * SENSOR_CHANNELS);
    if (ring == 0 || ring_frames == 0u) {
        return -1;
    }
    read_index = acked = 0u;
    limit = tm_get_u32(payload);
    flags = 0u;
    active = 1u;
    tm_put_u32(reply, ring_frames);
    reply[4] = (uint8_t)SENSOR_CHANNELS;
    tm_put_u32(reply + 5, SENSOR_RATE_HZ);
    tm_put_f32(reply + 9, SENSOR_G_PER_COUNT);
    return 13;
}

static int32_t read_frames(const uint8_t *payload, uint8_t *reply, uint16_t room)
{
    const uint32_t from = tm_get_u32(payload);
    const uint32_t frame_bytes = 2u * SENSOR_CHANNELS;
    uint32_t n, i, c, most;
    uint8_t *out = reply + 9;
    if (active == 0u || from < acked || from > read_index) {
        return -1;
    }
    acked = from;
    capture_poll();
    n = read_index - from;
    most = (uint32_t)payload[4] | ((uint32_t)payload[5] << 8); /* the host's, then what fits */
    most = most < (room - 9u) / frame_bytes ? most : (room - 9u) / frame_bytes;
    n = n < most ? n : most;
    tm_put_u32(reply, from);
    tm_put_u32(reply + 4, read_index);
    reply[8] = flags;
    for (i = 0; i < n; ++i) {
        const int16_t *frame = ring + ((from + i) % ring_frames) * SENSOR_CHANNELS;
        for (c = 0; c < SENSOR_CHANNELS; ++c) {
            *out++ = (uint8_t)((uint16_t)frame[c] & 0xFFu);
            *out++ = (uint8_t)((uint16_t)frame[c] >> 8);
        }
    }
    return (int32_t)(9u + n * frame_bytes);
}

int32_t capture_request(const uint8_t *payload, uint16_t length, uint8_t *reply, uint16_t room)
{
    if (length == 5u && payload[0] == TM_CAPTURE_START && room >= 13u) {
        return start(payload + 1, reply);
    }
    if (length == 7u && payload[0] == TM_CAPTURE_READ && room > 9u) {
        return read_frames(payload + 1, reply, room);
    }
    if (length == 1u && payload[0] == TM_CAPTURE_STOP) {
        active = 0u;
        return 0;
    }
    return -1;
}

#else

int32_t capture_request(const uint8_t *payload, uint16_t length, uint8_t *reply, uint16_t room)
{
    (void)payload;
    (void)length;
    (void)reply;
    (void)room;
    return -1;
}

void capture_poll(void) {}

void capture_stop(void) {}

int capture_active(void)
{
    return 0;
}

#endif

/* tinyml serial link: framing, COBS and CRC. See tinyml_link.h for the wire format. */
#include "tinyml_link.h"

uint16_t tm_crc16(const uint8_t *data, size_t length, uint16_t crc)
{
    /* CRC-16/CCITT-FALSE, bitwise: a few dozen bytes of code, fine for frames this small. */
    size_t i;
    for (i = 0; i < length; ++i) {
        uint8_t bit;
        crc ^= (uint16_t)((uint16_t)data[i] << 8);
        for (bit = 0; bit < 8u; ++bit) {
            crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

void tm_rx_init(tm_rx_t *rx, uint8_t *buf, uint16_t capacity)
{
    rx->buf = buf;
    rx->capacity = capacity;
    rx->used = 0;
    rx->overflow = 0;
}

/* Decodes COBS in place; returns the decoded length, or -1 if the encoding is broken. */
static int cobs_decode_in_place(uint8_t *buf, uint16_t length)
{
    uint16_t in = 0;
    uint16_t out = 0;
    while (in < length) {
        uint8_t code = buf[in++];
        uint8_t k;
        if (code == 0u || (uint16_t)(in + code - 1u) > length) {
            return -1;
        }
        for (k = 1; k < code; ++k) {
            buf[out++] = buf[in++];
        }
        if (code != 0xFFu && in < length) {
            buf[out++] = 0u;
        }
    }
    return (int)out;
}

static int finish_frame(tm_rx_t *rx, tm_frame_t *frame, uint8_t *error)
{
    int n = cobs_decode_in_place(rx->buf, rx->used);
    uint16_t length;
    uint16_t crc;
    if (n < (int)(TM_HEADER_BYTES + TM_CRC_BYTES)) {
        *error = TM_ERR_LENGTH;
        return TM_RX_ERROR;
    }
    crc = (uint16_t)(rx->buf[n - 2] | ((uint16_t)rx->buf[n - 1] << 8));
    if (tm_crc16(rx->buf, (size_t)n - TM_CRC_BYTES, 0xFFFFu) != crc) {
        *error = TM_ERR_CRC;
        return TM_RX_ERROR;
    }
    length = (uint16_t)(rx->buf[3] | ((uint16_t)rx->buf[4] << 8));
    if ((int)length != n - (int)(TM_HEADER_BYTES + TM_CRC_BYTES)) {
        *error = TM_ERR_LENGTH;
        return TM_RX_ERROR;
    }
    frame->version = rx->buf[0];
    frame->type = rx->buf[1];
    frame->seq = rx->buf[2];
    frame->length = length;
    frame->payload = rx->buf + TM_HEADER_BYTES;
    if (frame->version != TM_LINK_VERSION) {
        *error = TM_ERR_VERSION;
        return TM_RX_ERROR;
    }
    return TM_RX_FRAME;
}

int tm_rx_feed(tm_rx_t *rx, uint8_t byte, tm_frame_t *frame, uint8_t *error)
{
    int result = TM_RX_PENDING;
    if (byte != 0u) {
        if (rx->used < rx->capacity) {
            rx->buf[rx->used++] = byte;
        } else {
            rx->overflow = 1;
        }
        return TM_RX_PENDING;
    }
    if (rx->overflow) {
        *error = TM_ERR_TOO_LONG;
        result = TM_RX_ERROR;
    } else if (rx->used > 0u) {
        result = finish_frame(rx, frame, error);
    }
    /* The caller consumes the frame before the next byte is fed, so the buffer can be reused. */
    rx->used = 0;
    rx->overflow = 0;
    return result;
}

/* COBS-encodes one byte at a time into out; code_at marks the pending code byte. */
typedef struct {
    uint8_t *out;
    size_t capacity;
    size_t n;
    size_t code_at;
    uint8_t code;
} cobs_writer_t;

static void cobs_put(cobs_writer_t *w, uint8_t byte)
{
    if (w->n >= w->capacity) {
        w->n = w->capacity + 1u; /* remembered as overflow */
        return;
    }
    if (byte == 0u) {
        w->out[w->code_at] = w->code;
        w->code_at = w->n++;
        w->code = 1;
        return;
    }
    w->out[w->n++] = byte;
    if (++w->code == 0xFFu) {
        w->out[w->code_at] = w->code;
        if (w->n >= w->capacity) {
            w->n = w->capacity + 1u;
            return;
        }
        w->code_at = w->n++;
        w->code = 1;
    }
}

size_t tm_encode(uint8_t type, uint8_t seq, const uint8_t *payload, uint16_t length,
                 uint8_t *out, size_t capacity)
{
    uint8_t header[TM_HEADER_BYTES];
    uint16_t crc;
    uint16_t i;
    cobs_writer_t w;
    if (capacity < 2u) {
        return 0;
    }
    header[0] = TM_LINK_VERSION;
    header[1] = type;
    header[2] = seq;
    header[3] = (uint8_t)(length & 0xFFu);
    header[4] = (uint8_t)(length >> 8);
    crc = tm_crc16(header, sizeof header, 0xFFFFu);
    crc = tm_crc16(payload, length, crc);

    w.out = out;
    w.capacity = capacity - 1u; /* keep room for the delimiter */
    w.n = 1;
    w.code_at = 0;
    w.code = 1;
    for (i = 0; i < TM_HEADER_BYTES; ++i) {
        cobs_put(&w, header[i]);
    }
    for (i = 0; i < length; ++i) {
        cobs_put(&w, payload[i]);
    }
    cobs_put(&w, (uint8_t)(crc & 0xFFu));
    cobs_put(&w, (uint8_t)(crc >> 8));
    if (w.n > w.capacity) {
        return 0;
    }
    out[w.code_at] = w.code;
    out[w.n++] = 0u;
    return w.n;
}

uint32_t tm_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

void tm_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

uint16_t tm_get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | ((uint16_t)p[1] << 8));
}

void tm_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void tm_put_f32(uint8_t *p, float v)
{
    const uint8_t *bytes = (const uint8_t *)&v; /* every target here is little endian */
    tm_put_u32(p, (uint32_t)bytes[0] | ((uint32_t)bytes[1] << 8) | ((uint32_t)bytes[2] << 16) |
                      ((uint32_t)bytes[3] << 24));
}

float tm_get_f32(const uint8_t *p)
{
    const uint32_t bits = tm_get_u32(p);
    float v;
    uint8_t *bytes = (uint8_t *)&v;
    bytes[0] = (uint8_t)bits;
    bytes[1] = (uint8_t)(bits >> 8);
    bytes[2] = (uint8_t)(bits >> 16);
    bytes[3] = (uint8_t)(bits >> 24);
    return v;
}

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

/* The frame's body (header, payload, CRC) as one sequence of bytes, without copying it. */
typedef struct {
    const uint8_t *part[3];
    size_t length[3];
} body_t;

/* Up to `most` bytes of the body from `at`, stopping at a zero byte or a part's end: where they
 * are, and how many (0 when the byte at `at` is zero or the body has ended). */
static const uint8_t *body_run(const body_t *b, size_t at, size_t most, size_t *n)
{
    size_t i, k = 0u;
    for (i = 0u; i < 3u; ++i) {
        if (at < b->length[i]) {
            const uint8_t *p = b->part[i] + at;
            const size_t left = b->length[i] - at;
            while (k < most && k < left && p[k] != 0u) {
                ++k;
            }
            *n = k;
            return p;
        }
        at -= b->length[i];
    }
    *n = 0u;
    return 0;
}

/* How many bytes from `at` are not zero, up to `most`. */
static size_t body_nonzero(const body_t *b, size_t at, size_t most)
{
    size_t k = 0u, n = 1u;
    while (k < most && n != 0u) {
        (void)body_run(b, at + k, most - k, &n);
        k += n;
    }
    return k;
}

size_t tm_send(uint8_t type, uint8_t seq, const uint8_t *payload, uint16_t length,
               tm_sink_t sink, void *context)
{
    uint8_t header[TM_HEADER_BYTES], crc[TM_CRC_BYTES];
    body_t body;
    size_t at = 0u, total, sent = 0u;
    uint16_t c;
    header[0] = TM_LINK_VERSION;
    header[1] = type;
    header[2] = seq;
    tm_put_u16(header + 3, length);
    c = tm_crc16(payload, length, tm_crc16(header, sizeof header, 0xFFFFu));
    tm_put_u16(crc, c);
    body.part[0] = header;
    body.length[0] = sizeof header;
    body.part[1] = payload;
    body.length[1] = length;
    body.part[2] = crc;
    body.length[2] = sizeof crc;
    total = sizeof header + length + sizeof crc;
    for (;;) {
        /* One COBS block: its code (bytes up to the next zero, at most 254, plus one), then those
         * bytes, in as many runs as the body's parts cut them into. The zero is implied. */
        const size_t k = body_nonzero(&body, at, 254u);
        const uint8_t code = (uint8_t)(k + 1u);
        size_t n;
        sink(context, &code, 1u);
        for (n = 0u; n < k;) {
            size_t got;
            const uint8_t *run = body_run(&body, at + n, k - n, &got);
            sink(context, run, got);
            n += got;
        }
        sent += 1u + k;
        at += k;
        if (k < 254u) {
            if (at == total) {
                break;
            }
            ++at; /* the zero this block ends at */
        }
    }
    {
        const uint8_t delimiter = 0u;
        sink(context, &delimiter, 1u);
    }
    return sent + 1u;
}

typedef struct {
    uint8_t *out;
    size_t capacity;
    size_t n; /* bytes the frame needs, even past capacity */
} memory_sink_t;

static void to_memory(void *context, const uint8_t *data, size_t n)
{
    memory_sink_t *m = (memory_sink_t *)context;
    size_t i;
    for (i = 0u; i < n; ++i, ++m->n) {
        if (m->n < m->capacity) {
            m->out[m->n] = data[i];
        }
    }
}

size_t tm_encode(uint8_t type, uint8_t seq, const uint8_t *payload, uint16_t length,
                 uint8_t *out, size_t capacity)
{
    memory_sink_t m;
    m.out = out;
    m.capacity = capacity;
    m.n = 0u;
    tm_send(type, seq, payload, length, to_memory, &m);
    return m.n <= capacity ? m.n : 0u;
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

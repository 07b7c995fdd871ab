/* Request dispatch: decode a frame, answer it, and say so when a frame was damaged. */
#include "tinyml_device.h"

#include "tinyml_config.h"
#include "tinyml_link.h"
#include "tinyml_port.h"

static uint8_t rx_buffer[TINYML_RX_BUFFER];
static uint8_t tx_buffer[TM_ENCODED_MAX(TINYML_TX_PAYLOAD + TM_HEADER_BYTES + TM_CRC_BYTES)];
static uint8_t reply[TINYML_TX_PAYLOAD];
static tm_rx_t rx;
static uint16_t rx_errors;

static void send_frame(uint8_t type, uint8_t seq, const uint8_t *payload, uint16_t length)
{
    size_t n = tm_encode(type, seq, payload, length, tx_buffer, sizeof tx_buffer);
    if (n > 0u) {
        port_write(tx_buffer, n);
    }
}

static void send_error(uint8_t seq, uint8_t code)
{
    uint8_t payload[2];
    payload[0] = code;
    payload[1] = (uint8_t)TM_LINK_VERSION;
    send_frame(TM_MSG_ERROR, seq, payload, sizeof payload);
}

/* Appends "key=value\n" to reply; returns the new length (unchanged if it does not fit). */
static uint16_t put_field(uint16_t at, const char *key, const char *value)
{
    uint16_t start = at;
    while (*key != '\0' && at < sizeof reply) {
        reply[at++] = (uint8_t)*key++;
    }
    if (at < sizeof reply) {
        reply[at++] = (uint8_t)'=';
    }
    while (*value != '\0' && at < sizeof reply) {
        reply[at++] = (uint8_t)*value++;
    }
    if (at >= sizeof reply) {
        return start;
    }
    reply[at++] = (uint8_t)'\n';
    return at;
}

static uint16_t put_number(uint16_t at, const char *key, uint32_t value)
{
    char digits[11];
    char *p = digits + sizeof digits - 1;
    *p = '\0';
    do {
        *--p = (char)('0' + value % 10u);
        value /= 10u;
    } while (value != 0u);
    return put_field(at, key, p);
}

static void answer_info(uint8_t seq)
{
    uint16_t n = 0;
    n = put_number(n, "protocol", TM_LINK_VERSION);
    n = put_field(n, "firmware", TINYML_FIRMWARE_VERSION);
    n = put_field(n, "board", TINYML_BOARD_ID);
    n = put_field(n, "build", TINYML_BUILD_ID);
    n = put_field(n, "app", TINYML_APP);
    n = put_number(n, "rx_buffer", TINYML_RX_BUFFER);
    n = put_number(n, "rx_errors", rx_errors);
    send_frame(TM_MSG_INFO | TM_REPLY, seq, reply, n);
}

static void handle(const tm_frame_t *frame)
{
    switch (frame->type) {
    case TM_MSG_INFO:
        answer_info(frame->seq);
        break;
    default:
        send_error(frame->seq, TM_ERR_UNKNOWN_TYPE);
        break;
    }
}

void tinyml_device_init(void)
{
    port_init();
    tm_rx_init(&rx, rx_buffer, (uint16_t)sizeof rx_buffer);
}

void tinyml_device_poll(void)
{
    int byte;
    while ((byte = port_read_byte()) >= 0) {
        tm_frame_t frame;
        uint8_t error = 0;
        int status = tm_rx_feed(&rx, (uint8_t)byte, &frame, &error);
        if (status == TM_RX_FRAME) {
            handle(&frame);
        } else if (status == TM_RX_ERROR) {
            ++rx_errors;
            /* The sequence number of a damaged frame cannot be trusted: 0xFF means "unknown". */
            send_error(0xFFu, error);
        }
    }
}

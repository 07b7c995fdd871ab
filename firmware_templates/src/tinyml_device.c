/* Request dispatch: decode a frame, answer it, and say so when a frame was damaged. */
#include "tinyml_device.h"

#include "tinyml_app.h"
#include "tinyml_capture.h"
#include "tinyml_config.h"
#include "tinyml_eembc.h"
#include "tinyml_link.h"
#include "tinyml_port.h"

static uint8_t rx_buffer[TINYML_RX_BUFFER];
static uint8_t reply[TINYML_TX_PAYLOAD];
static tm_rx_t rx;
static uint16_t rx_errors;
static uint8_t live;
static uint32_t last_ticks[2]; /* front-end, model: of the last inference */
#if defined(TINYML_HAS_MODEL)
static char command[EEMBC_CMD_SIZE + 1u]; /* a text command collecting, in parallel with frames */
static uint8_t command_length;
static uint8_t in_frame; /* a byte that is not text came since the last 0x00: frame bytes */

/* Text commands and binary frames share the link: every byte goes to both receivers. A '%'
 * ends a text command: a known one is run wherever it stands (and clears the frame receiver),
 * an unknown one is answered as MLPerf's reference firmware does, but only when every byte
 * since the last 0x00 (or the last command) was printable text. Frames are COBS-encoded: they
 * hold no 0x00 but may hold '%', and byte 1 of every frame is its version (0x01), not text,
 * so a '%' inside a frame is never answered as an unknown command. */
static int text_byte(uint8_t byte)
{
    if (byte == (uint8_t)'%') {
        int handled;
        command[command_length] = '\0';
        command_length = 0u;
        handled = eembc_command(command, !in_frame);
        if (handled) {
            live = 0u;
            in_frame = 0u;
            tm_rx_init(&rx, rx_buffer, (uint16_t)sizeof rx_buffer);
        }
        return handled;
    }
    if (byte == 0u) {
        command_length = 0u; /* a frame's delimiter: text may follow */
        in_frame = 0u;
    } else if (byte < 0x20u || byte > 0x7Eu) {
        command_length = 0u; /* not text: part of a frame */
        in_frame = 1u;
    } else if (command_length < EEMBC_CMD_SIZE) {
        command[command_length++] = (char)byte;
    }
    return 0;
}
#endif

static void to_port(void *context, const uint8_t *data, size_t length)
{
    (void)context;
    port_write(data, length);
}

/* Replies are encoded straight to the port: no transmit buffer. */
static void send_frame(uint8_t type, uint8_t seq, const uint8_t *payload, uint16_t length)
{
    (void)tm_send(type, seq, payload, length, to_port, 0);
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

/* Appends preformatted "key=value\n" lines (from tinyml_config.h), or nothing if they do not fit. */
static uint16_t put_raw(uint16_t at, const char *lines)
{
    uint16_t start = at;
    while (*lines != '\0') {
        if (at >= sizeof reply) {
            return start;
        }
        reply[at++] = (uint8_t)*lines++;
    }
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
    const uint32_t stack_peak = port_stack_peak();
    uint16_t n = 0;
    n = put_number(n, "protocol", TM_LINK_VERSION);
    n = put_field(n, "firmware", TINYML_FIRMWARE_VERSION);
    n = put_field(n, "board", TINYML_BOARD_ID);
    n = put_field(n, "build", TINYML_BUILD_ID);
    n = put_field(n, "app", TINYML_APP);
    n = put_number(n, "rx_buffer", TINYML_RX_BUFFER);
    n = put_number(n, "rx_errors", rx_errors);
    n = put_number(n, "live", live);
    n = put_field(n, "timer_unit", TINYML_TIMER_UNIT);
    n = put_field(n, "timer_per_tick", TINYML_TIMER_PER_TICK);
    if (stack_peak != 0u) {
        n = put_number(n, "stack_peak", stack_peak);
    }
    n = put_raw(n, TINYML_APP_INFO);
    send_frame(TM_MSG_INFO | TM_REPLY, seq, reply, n);
}

/* kind(1) offset(u32) data: hands data to the app's input of that kind at offset. */
static void answer_load(const tm_frame_t *frame)
{
    uint32_t capacity = 0;
    int32_t held = -1;
    if (app_input(TM_INPUT_FEATURES, &capacity) == 0) {
        send_error(frame->seq, TM_ERR_NO_MODEL);
        return;
    }
    if (frame->length >= 5u) {
#if defined(TINYML_APP_LOADS)
        held = app_load(frame->payload[0], tm_get_u32(frame->payload + 1), frame->payload + 5,
                        (uint32_t)frame->length - 5u);
#else
        held = app_load_input(frame->payload[0], tm_get_u32(frame->payload + 1),
                              frame->payload + 5, (uint32_t)frame->length - 5u);
#endif
    }
    if (held < 0) {
        send_error(frame->seq, TM_ERR_ARGUMENT);
        return;
    }
    tm_put_u32(reply, (uint32_t)held);
    send_frame(TM_MSG_LOAD | TM_REPLY, frame->seq, reply, 4u);
}

/* kind(1) -> feature ticks(u32) model ticks(u32) score(f32 bits) int8 outputs */
static void answer_infer(const tm_frame_t *frame)
{
    app_result_t result;
    uint16_t i;
    uint32_t capacity = 0;
    if (app_input(TM_INPUT_FEATURES, &capacity) == 0) {
        send_error(frame->seq, TM_ERR_NO_MODEL);
        return;
    }
    if (frame->length != 1u || app_infer(frame->payload[0], &result) != 0 ||
        12u + (uint32_t)result.output_bytes > sizeof reply) {
        send_error(frame->seq, TM_ERR_ARGUMENT);
        return;
    }
    last_ticks[0] = result.feature_ticks;
    last_ticks[1] = result.model_ticks;
    tm_put_u32(reply, result.feature_ticks);
    tm_put_u32(reply + 4, result.model_ticks);
    tm_put_f32(reply + 8, result.score);
    for (i = 0; i < result.output_bytes; ++i) {
        reply[12u + i] = (uint8_t)result.output[i];
    }
    send_frame(TM_MSG_INFER | TM_REPLY, frame->seq, reply, (uint16_t)(12u + result.output_bytes));
}

static void answer_mode(const tm_frame_t *frame)
{
    if (frame->length != 1u || frame->payload[0] > 1u) {
        send_error(frame->seq, TM_ERR_ARGUMENT);
        return;
    }
    live = frame->payload[0];
    reply[0] = live;
    send_frame(TM_MSG_MODE | TM_REPLY, frame->seq, reply, 1u);
}

static void answer_capture(const tm_frame_t *frame)
{
    uint32_t capacity = 0;
    int32_t n;
    if (app_input(TM_INPUT_FEATURES, &capacity) == 0) {
        send_error(frame->seq, TM_ERR_NO_MODEL);
        return;
    }
    live = 0u;
    n = capture_request(frame->payload, frame->length, reply, (uint16_t)sizeof reply);
    if (n < 0) {
        send_error(frame->seq, TM_ERR_ARGUMENT);
        return;
    }
    send_frame(TM_MSG_CAPTURE | TM_REPLY, frame->seq, reply, (uint16_t)n);
}

/* Requests the app answers itself (TM_MSG_CALIBRATE for an app with TINYML_APP_REQUESTS), or
 * that nobody knows. */
static void answer_app(const tm_frame_t *frame)
{
#if defined(TINYML_APP_REQUESTS)
    int32_t n = app_request(frame->type, frame->payload, frame->length, reply, (uint16_t)sizeof reply);
    if (n == TM_APP_UNKNOWN) {
        send_error(frame->seq, TM_ERR_UNKNOWN_TYPE);
    } else if (n < 0) {
        send_error(frame->seq, TM_ERR_ARGUMENT);
    } else {
        send_frame((uint8_t)(frame->type | TM_REPLY), frame->seq, reply, (uint16_t)n);
    }
#else
    send_error(frame->seq, TM_ERR_UNKNOWN_TYPE);
#endif
}

static void handle(const tm_frame_t *frame)
{
    if (frame->type != TM_MSG_CAPTURE && frame->type != TM_MSG_INFO && frame->type != TM_MSG_TIMING) {
        capture_stop(); /* the input buffer is the host's or the app's again */
    }
    switch (frame->type) {
    case TM_MSG_INFO:
        answer_info(frame->seq);
        break;
    case TM_MSG_LOAD:
        live = 0u; /* the host drives the board from now on */
        answer_load(frame);
        break;
    case TM_MSG_INFER:
        live = 0u;
        answer_infer(frame);
        break;
    case TM_MSG_MODE:
        answer_mode(frame);
        break;
    case TM_MSG_TIMING:
        tm_put_u32(reply, last_ticks[0]);
        tm_put_u32(reply + 4, last_ticks[1]);
        send_frame(TM_MSG_TIMING | TM_REPLY, frame->seq, reply, 8u);
        break;
    case TM_MSG_CAPTURE:
        answer_capture(frame);
        break;
    case TM_MSG_RESET:
        app_init();
        rx_errors = 0u;
        live = 0u;
        last_ticks[0] = last_ticks[1] = 0u;
        send_frame(TM_MSG_RESET | TM_REPLY, frame->seq, reply, 0u);
        break;
    default:
        answer_app(frame);
        break;
    }
}

void tinyml_device_init(void)
{
    port_init();
    tm_rx_init(&rx, rx_buffer, (uint16_t)sizeof rx_buffer);
    app_init();
    live = TINYML_LIVE_AT_BOOT;
}

void tinyml_device_poll(void)
{
    int byte;
    uint8_t busy = live | (uint8_t)capture_active();
    while ((byte = port_read_byte()) >= 0) {
        busy = 1u;
        tm_frame_t frame;
        uint8_t error = 0;
        int status;
#if defined(TINYML_HAS_MODEL)
        if (text_byte((uint8_t)byte)) {
            continue;
        }
#endif
        status = tm_rx_feed(&rx, (uint8_t)byte, &frame, &error);
        if (status == TM_RX_FRAME) {
            handle(&frame);
        } else if (status == TM_RX_ERROR) {
            ++rx_errors;
            /* The sequence number of a damaged frame cannot be trusted: 0xFF means "unknown". */
            send_error(0xFFu, error);
        }
    }
    capture_poll();
    if (live != 0u && app_live_step() == 0) {
        live = 0u; /* the replayed recording has ended: wait for the host */
    }
    if (busy == 0u) {
        port_idle();
    }
}

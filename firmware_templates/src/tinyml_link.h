/* tinyml serial link: binary frames with length and CRC, delimited by COBS.
 *
 * On the wire a frame is COBS(body) followed by one 0x00 byte. The body is
 *   version(1) type(1) seq(1) length(2, little endian) payload(length) crc16(2, little endian)
 * with the CRC (CRC-16/CCITT-FALSE) over everything before it. COBS removes every 0x00
 * from the body, so a receiver that lost sync (noise, a dropped byte, a reset mid-frame)
 * is back in step at the next 0x00, and the CRC catches what got through corrupted.
 * A frame may hold '%' but never only text: its byte 1 is the version (0x01). The MLPerf text
 * receiver beside it (tinyml_device.c) relies on that to tell frames from text commands.
 * The same definition lives in tinyml/link/frame.py; change both or neither.
 */
#ifndef TINYML_LINK_H
#define TINYML_LINK_H

#include <stddef.h>
#include <stdint.h>

#define TM_LINK_VERSION 1u
#define TM_HEADER_BYTES 5u
#define TM_CRC_BYTES 2u

/* Requests (host -> device); a reply carries the request's type | TM_REPLY. */
#define TM_MSG_INFO 0x01u  /* -> "key=value" lines: firmware, board, build, app, model, sizes */
#define TM_MSG_LOAD 0x02u  /* kind(1) offset(u32) bytes -> u32 bytes held: fills an input buffer */
#define TM_MSG_INFER 0x03u /* kind(1) -> feature ticks(u32) model ticks(u32) score(f32) outputs */
#define TM_MSG_MODE 0x04u  /* mode(1): 0 test (host drives), 1 live (sensor) -> mode(1) */
#define TM_MSG_TIMING 0x05u /* -> the last inference's feature ticks(u32) model ticks(u32) */
#define TM_MSG_RESET 0x06u  /* -> nothing: app state, counters and mode back to power-up (test mode) */
#define TM_MSG_CAPTURE 0x07u /* op(1) ...: raw sensor frames for the host (tinyml_capture.h) */
#define TM_MSG_CALIBRATE 0x08u /* op(1) ...: the app's calibration (apps/vibration), see below */
#define TM_MSG_FAULT 0x09u     /* -> class(1) probability(f32) outputs: the fault classifier (vibration) */
#define TM_REPLY 0x80u
#define TM_MSG_ERROR 0x7Fu

/* TM_MSG_CALIBRATE operations: the levels and threshold held, new ones (kept in the board's
 * store, if any), back to the built-in ones, the model input of the last inference, new ones for
 * now only. */
#define TM_CALIBRATE_GET 0u
#define TM_CALIBRATE_SET 1u
#define TM_CALIBRATE_DEFAULT 2u
#define TM_CALIBRATE_FEATURES 3u
#define TM_CALIBRATE_TRY 4u /* as SET, but never stored: calibration's own measurements */

/* Error codes in the first payload byte of a TM_MSG_ERROR frame. */
#define TM_ERR_CRC 1u          /* the frame's CRC did not match: resend */
#define TM_ERR_TOO_LONG 2u     /* the frame did not fit the device's receive buffer */
#define TM_ERR_UNKNOWN_TYPE 3u /* the firmware does not implement this request */
#define TM_ERR_VERSION 4u      /* protocol version differs; payload[1] is the device's */
#define TM_ERR_LENGTH 5u       /* the length field disagrees with the frame's size */
#define TM_ERR_ARGUMENT 6u     /* a well-formed request with a bad argument (kind, offset, mode) */
#define TM_ERR_NO_MODEL 7u     /* the firmware has no model (the skeleton app) */

typedef struct {
    uint8_t version;
    uint8_t type;
    uint8_t seq;
    uint16_t length;
    const uint8_t *payload;
} tm_frame_t;

/* Receiver state: encoded bytes accumulate in buf until a 0x00 arrives. */
typedef struct {
    uint8_t *buf;
    uint16_t capacity;
    uint16_t used;
    uint8_t overflow;
} tm_rx_t;

enum {
    TM_RX_PENDING = 0,   /* no complete frame yet */
    TM_RX_FRAME = 1,     /* *frame holds a valid frame (payload points into rx->buf) */
    TM_RX_ERROR = -1     /* a damaged frame was dropped; *error says why */
};

uint16_t tm_crc16(const uint8_t *data, size_t length, uint16_t crc);

/* Little-endian u16, u32 and float32 fields of payloads (and of the stored record). */
uint32_t tm_get_u32(const uint8_t *p);
void tm_put_u32(uint8_t *p, uint32_t v);
uint16_t tm_get_u16(const uint8_t *p);
void tm_put_u16(uint8_t *p, uint16_t v);
void tm_put_f32(uint8_t *p, float v);
float tm_get_f32(const uint8_t *p);
void tm_rx_init(tm_rx_t *rx, uint8_t *buf, uint16_t capacity);
int tm_rx_feed(tm_rx_t *rx, uint8_t byte, tm_frame_t *frame, uint8_t *error);

/* Where tm_send() puts the encoded frame, a few bytes at a time (a serial port's write). */
typedef void (*tm_sink_t)(void *context, const uint8_t *data, size_t length);

/* Encodes a frame straight into sink, delimiter included, with no buffer of its own (the device
 * sends its replies so); returns the bytes sent. */
size_t tm_send(uint8_t type, uint8_t seq, const uint8_t *payload, uint16_t length,
               tm_sink_t sink, void *context);

/* Encodes a frame into out (capacity bytes), delimiter included.
 * Returns the number of bytes to send, or 0 when it does not fit. */
size_t tm_encode(uint8_t type, uint8_t seq, const uint8_t *payload, uint16_t length,
                 uint8_t *out, size_t capacity);

#endif

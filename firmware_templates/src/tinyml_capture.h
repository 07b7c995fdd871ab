/* Capture: the sensor's samples sent to the host as they are (`tinyml capture`), to collect a
 * dataset with the board that will run the model.
 *
 * The app's raw input buffer is a ring of whole frames (one sample of every channel). Start
 * empties it; from then on every poll moves what the sensor has into it, up to the number of
 * frames the start asked for, and each read hands the host the frames from the index it asks
 * for, which also tells the device that everything before that index has arrived. A resent read asks for the same index and gets the same
 * frames. When the ring is full and the sensor cannot wait (a real one keeps sampling), the
 * capture stops reading and says so (overrun): the frames before are whole, the host starts
 * a new piece. A recording (the replay sensor, SENSOR_WAITS) waits and never overruns. */
#ifndef TINYML_CAPTURE_H
#define TINYML_CAPTURE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* START frames(u32: how many to take, 0 until stopped)
 *   -> ring frames(u32) channels(u8) rate Hz(u32) g per count(f32, 0: audio) */
#define TM_CAPTURE_START 0u
#define TM_CAPTURE_READ 1u  /* from(u32) max frames(u16) -> from(u32) read(u32) flags(u8) int16 frames */
#define TM_CAPTURE_STOP 2u  /* -> nothing */
#define TM_CAPTURE_ENDED 1u   /* flags: the sensor's source ended (a replayed recording) */
#define TM_CAPTURE_OVERRUN 2u /* flags: the ring filled; nothing after `read` was kept */

/* Answers a capture request into reply (room bytes); returns its length, or -1 for a bad one. */
int32_t capture_request(const uint8_t *payload, uint16_t length, uint8_t *reply, uint16_t room);
/* Moves the sensor's new frames into the ring while a capture runs; cheap when none does. */
void capture_poll(void);
/* Ends a capture (the host loads, infers, resets or goes live: the buffer is theirs again). */
void capture_stop(void);
/* 1 while a capture runs. */
int capture_active(void);

#ifdef __cplusplus
}
#endif

#endif

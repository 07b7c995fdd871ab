/* What an app (apps/<name>/) gives the device layer: input buffers the host can fill, one
 * inference, and a live mode that reads the board's sensor. */
#ifndef TINYML_APP_H
#define TINYML_APP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TM_INPUT_RAW 0u      /* raw sensor samples, int16 little endian, through the front-end */
#define TM_INPUT_FEATURES 1u /* the model's int8 input tensor as is */

typedef struct {
    uint32_t feature_ticks; /* timer ticks of the front-end (0 for TM_INPUT_FEATURES) */
    uint32_t model_ticks;   /* timer ticks of model_invoke() */
    float score;            /* the app's score: anomaly score (vibration), top probability (kws) */
    const int8_t *output;   /* the model's int8 output tensor */
    uint16_t output_bytes;
} app_result_t;

void app_init(void);
/* The buffer input `kind` is held in, and its size; NULL for a kind the app lacks (kws holds
 * no raw clip unless built for capture, whose ring it then is). */
uint8_t *app_input(uint8_t kind, uint32_t *bytes);
/* A TM_MSG_LOAD: `count` bytes of input `kind` at byte `offset`. Returns the bytes of that
 * input held after them, or -1 when the app cannot take them there; loading the same bytes
 * again (a resend) changes nothing. An app built with TINYML_APP_LOADS takes them itself (kws:
 * a raw clip goes straight through its streaming front-end, with no clip buffer); others get
 * app_load_input(), which copies them into app_input()'s buffer. */
int32_t app_load(uint8_t kind, uint32_t offset, const uint8_t *data, uint32_t count);
int32_t app_load_input(uint8_t kind, uint32_t offset, const uint8_t *data, uint32_t count);
/* Front-end (TM_INPUT_RAW) and model on the loaded input; 0 on success. */
int app_infer(uint8_t kind, app_result_t *result);
/* Helpers for apps with a model (src/tinyml_model.c). */
typedef void (*app_frontend_t)(const int16_t *raw, int8_t *features, float *work);
/* Copies the features into the model's input, runs the model and times it: fills the result's
 * model_ticks, output and output_bytes. */
void app_invoke_model(const int8_t *features, app_result_t *result);
/* app_infer() without the score: the front-end on raw (TM_INPUT_RAW), then the model. */
int app_run(uint8_t kind, app_frontend_t frontend, const int16_t *raw, int8_t *features,
            float *work, app_result_t *result);
/* app_input() for an app with one raw buffer and one feature buffer. */
uint8_t *app_pick_input(uint8_t kind, uint32_t *bytes, void *raw, uint32_t raw_bytes,
                        int8_t *features, uint32_t feature_bytes);
/* A request the device layer leaves to the app (TM_MSG_CALIBRATE), for an app built with
 * TINYML_APP_REQUESTS: writes the reply's payload and returns its length, or TM_APP_UNKNOWN (the
 * app has no such request) or TM_APP_BAD_ARGUMENT. */
#define TM_APP_UNKNOWN (-1)
#define TM_APP_BAD_ARGUMENT (-2)
int32_t app_request(uint8_t type, const uint8_t *payload, uint16_t length, uint8_t *reply,
                    uint16_t capacity);
/* One step of live mode: read the sensor, classify when a window is complete, print what was
 * detected. Returns 0 once the source has ended (a replayed recording), 1 otherwise. */
int app_live_step(void);

#ifdef __cplusplus
}
#endif

#endif

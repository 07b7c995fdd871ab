/* Keyword spotting from a tinyml training run: the MFCC front-end (tm_frontend.c) and the
 * int8 DS-CNN compiled by `tinyml compile` (model.c), behind one small class. Plain C++ with
 * no Arduino calls and no malloc; the model is integer only.
 *
 *   TinymlKws kws;
 *   kws.begin();
 *   if (kws.feed(sample)) {                // one int16 audio sample at TINYML_SAMPLE_RATE_HZ
 *       TinymlKeyword r = kws.result();    // r.index, r.label, r.score, r.keyword
 *   }
 *
 * The last TINYML_KWS_CLIP_SAMPLES samples are classified every TINYML_KWS_HOP_FRAMES frames
 * of the front-end (20 ms each). It computes one MFCC frame per 20 ms as the samples come and
 * keeps only 30 ms of audio and the clip's frames; they, the features and the model's arena
 * (which the front-end's FFT borrows between inferences) live in static memory: one instance
 * per sketch. */
#ifndef TINYML_KWS_H
#define TINYML_KWS_H

#include <stdint.h>

#include "tinyml_export_config.h"

struct TinymlKeyword {
    int16_t index;     /* the class with the highest output (the first of equals) */
    const char *label; /* its name, e.g. "yes", "_silence_", "_unknown_" */
    float score;       /* its probability, 0 to 1 */
    bool keyword;      /* a keyword (not silence or unknown) at TINYML_KWS_THRESHOLD or more */
    uint32_t window;   /* windows classified since begin(); the first is 1 */
};

class TinymlKws {
public:
    TinymlKws() { begin(); }
    /* Forgets the audio heard so far. */
    void begin();
    /* One audio sample. Every 20 ms of them the front-end computes a frame inside this call;
     * once a whole clip has been heard, and then every TINYML_KWS_HOP_FRAMES frames, the model
     * classifies the last clip, also inside this call (buffer the samples that arrive
     * meanwhile); then it returns true and result() has it. */
    bool feed(int16_t sample);
    /* A classified window is waiting to be read by result(). */
    bool ready() const;
    /* The last classified window; reading it clears ready(). */
    TinymlKeyword result();
    uint16_t classes() const;
    const char *label(uint16_t index) const;
    /* The model's int8 output for the last window (outputBytes() of them, one per class). */
    const int8_t *output() const;
    uint16_t outputBytes() const;

private:
    bool ready_;
    TinymlKeyword last_;
};

#endif

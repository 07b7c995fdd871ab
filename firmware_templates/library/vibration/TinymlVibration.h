/* Vibration anomaly detection from a tinyml training run: the band-energy front-end
 * (tm_frontend.c) and the int8 autoencoder compiled by `tinyml compile` (model.c), behind
 * one small class. Plain C++ with no Arduino calls and no malloc; the model is integer only.
 *
 *   TinymlVibration detector;
 *   detector.begin();
 *   if (detector.feed(x, y, z)) {            // one accelerometer reading, in sensor counts
 *       TinymlAnomaly r = detector.result(); // r.score, r.anomaly, r.alarm
 *   }
 *
 * The model sees each window relative to the machine's normal level per feature. Built in: the
 * training machines' average and the run's threshold. `tinyml calibrate --recording FILE` fits
 * them to your machine from a recording of it running normally and prints a calibrate() call.
 *
 * The model's arena and the window live in static memory: one instance per sketch. */
#ifndef TINYML_VIBRATION_H
#define TINYML_VIBRATION_H

#include <stdint.h>

#include "tinyml_export_config.h"

struct TinymlAnomaly {
    float score;     /* the window's reconstruction error (mean squared, in log-energy units) */
    bool anomaly;    /* score > threshold(): the run's, or calibrate()'s */
    bool alarm;      /* TINYML_VIB_ALARM_WINDOWS or more anomalous windows in a row */
    uint32_t window; /* windows scored since begin(); the first is 1 */
};

class TinymlVibration {
public:
    TinymlVibration() : threshold_(TINYML_VIB_THRESHOLD) { begin(); }
    /* Forgets any partial window and the run of anomalous windows (not the calibration). */
    void begin();
    /* One tri-axial reading, taken at TINYML_SAMPLE_RATE_HZ in the counts the run was trained
     * on (TINYML_G_PER_COUNT g each). Every TINYML_VIB_WINDOW readings the window is scored
     * (front-end and model run inside this call); then it returns true and result() has it. */
    bool feed(int16_t x, int16_t y, int16_t z);
    /* A scored window is waiting to be read by result(). */
    bool ready() const;
    /* The last scored window; reading it clears ready(). */
    TinymlAnomaly result();
    float threshold() const;
    /* The machine's normal level per feature (outputBytes() of them) and the alarm
     * threshold, as `tinyml calibrate` fits them; levels are copied. */
    void calibrate(const int16_t *levels, float threshold);
    /* The model's int8 output for the last window (outputBytes() of them), e.g. to compare
     * with the host pipeline. */
    const int8_t *output() const;
    uint16_t outputBytes() const;

private:
    uint16_t filled_;
    uint16_t inARow_;
    float threshold_;
    bool ready_;
    TinymlAnomaly last_;
};

#endif

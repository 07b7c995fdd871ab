/* tinyml front-ends in C: MFCC frames for audio, band energies for vibration.
 *
 * The specification is tinyml/features/spec.py; the constants come generated in
 * tm_frontend_tables.h. Float32 throughout, in the same operation order as the numpy
 * reference (tinyml/features/reference.py). Freestanding C99 plus logf; no malloc: the caller
 * passes the work buffer. */
#ifndef TM_FRONTEND_H
#define TM_FRONTEND_H

#include <stdint.h>

#if defined(__AVR__)
#include <avr/pgmspace.h>
#define FE_FLASH PROGMEM
#define FE_F32(p) pgm_read_float(p)
#define FE_I16(p) ((int16_t)pgm_read_word(p))
#else
#define FE_FLASH
#define FE_F32(p) (*(p))
#define FE_I16(p) (*(p))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* MFCC of one clip (FE_MFCC_CLIP int16 samples) into FE_MFCC_FRAMES x FE_MFCC_COEFFS int8,
 * normalised by fe_mfcc_normalize(): the model's input. work: 2 * FE_MFCC_FFT + FE_MFCC_BANDS
 * floats. */
void fe_mfcc(const int16_t *clip, int8_t *out, float *work);

/* In place on a window of FE_MFCC_FRAMES x FE_MFCC_COEFFS int8: with FE_MFCC_NORMALIZE (spec
 * normalize "window_mean"), each coefficient minus its mean over the frames (rounded half away
 * from zero), saturated; without, nothing. */
void fe_mfcc_normalize(int8_t *window);

/* One MFCC frame: FE_MFCC_WINDOW int16 samples into FE_MFCC_COEFFS int8. fe_mfcc() is this,
 * once per stride; the streaming front-end (tm_stream.h) calls it once per hop. Same work. */
void fe_mfcc_frame(const int16_t *window, int8_t *out, float *work);

/* Band energies of one window (FE_SPEC_AXES x FE_SPEC_WINDOW int16 counts, axis after axis)
 * into FE_SPEC_AXES x FE_SPEC_BANDS int8. work: 2 * FE_SPEC_FFT floats. */
void fe_spectrum(const int16_t *window, int8_t *out, float *work);

/* Per-machine normalisation (tinyml.features.normalize): features[i] - levels[i], saturated to
 * int8, in place; levels are the machine's normal level per feature. */
void fe_normalize(int8_t *features, const int16_t *levels, uint16_t n);

#ifdef __cplusplus
}
#endif

#endif

/* Readable lines on the serial link, for live mode and the bench app.
 *
 * Live lines share the link with binary frames, so print_end() closes each line with "\r\n"
 * and a 0x00: a frame decoder drops the line as one damaged frame and stays in step, and a
 * terminal shows the text. */
#ifndef TINYML_PRINT_H
#define TINYML_PRINT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void print_str(const char *s);
void print_u32(uint32_t value);
/* value / 1000 with three decimals, e.g. 873 -> "0.873"; negative values get a sign. */
void print_milli(int32_t value);
void print_hex(const int8_t *bytes, uint32_t n);
void print_end(void);

#ifdef __cplusplus
}
#endif

#endif

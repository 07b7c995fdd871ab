/* The one record a board keeps through power-off (TINYML_STORE), as bytes: magic (u16), length
 * (u16), CRC-16/CCITT-FALSE of the data (u16), all little-endian, then the data. One format for
 * every store (the Mega's EEPROM, flash on the other Arduino boards), so a record is checked the
 * same way wherever it lives. */
#ifndef TINYML_STORE_H
#define TINYML_STORE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TM_STORE_HEADER_BYTES 6u

/* The header of `length` bytes of data; length 0 writes a header no load accepts (forgotten). */
void tm_store_header(uint8_t header[TM_STORE_HEADER_BYTES], const uint8_t *data, uint16_t length);
/* 1 when header announces `length` bytes and `data` are those bytes, intact; else 0. */
int tm_store_intact(const uint8_t header[TM_STORE_HEADER_BYTES], const uint8_t *data, uint16_t length);

#ifdef __cplusplus
}
#endif

#endif

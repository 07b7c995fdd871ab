/* The stored record's header: see tinyml_store.h. */
#include "tinyml_store.h"

#include "tinyml_link.h"

#define STORE_MAGIC 0x7443u /* "Ct" */

void tm_store_header(uint8_t header[TM_STORE_HEADER_BYTES], const uint8_t *data, uint16_t length)
{
    tm_put_u16(header, length == 0u ? 0xFFFFu : STORE_MAGIC);
    tm_put_u16(header + 2, length);
    tm_put_u16(header + 4, tm_crc16(data, length, 0xFFFFu));
}

int tm_store_intact(const uint8_t header[TM_STORE_HEADER_BYTES], const uint8_t *data, uint16_t length)
{
    return length != 0u && tm_get_u16(header) == STORE_MAGIC && tm_get_u16(header + 2) == length &&
           tm_get_u16(header + 4) == tm_crc16(data, length, 0xFFFFu);
}

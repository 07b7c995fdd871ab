/* The stored record's header: see tinyml_store.h. */
#include "tinyml_store.h"

#include "tinyml_link.h"

#define STORE_MAGIC 0x7443u /* "Ct" */

static void put_u16(uint8_t *at, uint16_t value)
{
    at[0] = (uint8_t)(value & 0xFFu);
    at[1] = (uint8_t)(value >> 8);
}

static uint16_t get_u16(const uint8_t *at)
{
    return (uint16_t)(at[0] | ((uint16_t)at[1] << 8));
}

void tm_store_header(uint8_t header[TM_STORE_HEADER_BYTES], const uint8_t *data, uint16_t length)
{
    put_u16(header, length == 0u ? 0xFFFFu : STORE_MAGIC);
    put_u16(header + 2, length);
    put_u16(header + 4, tm_crc16(data, length, 0xFFFFu));
}

int tm_store_intact(const uint8_t header[TM_STORE_HEADER_BYTES], const uint8_t *data, uint16_t length)
{
    return length != 0u && get_u16(header) == STORE_MAGIC && get_u16(header + 2) == length &&
           get_u16(header + 4) == tm_crc16(data, length, 0xFFFFu);
}

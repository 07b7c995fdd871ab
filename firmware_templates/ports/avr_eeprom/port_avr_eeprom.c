/* A record that survives power-off, in the AVR's EEPROM (the Mega's 4 KB): what the app keeps
 * with port_store_save(), such as its calibration. At address 0 the header (tinyml_store.h),
 * then the data. eeprom_update_block() writes only the bytes that change, so calibrating again
 * wears the cells little. */
#include <avr/eeprom.h>
#include <stdint.h>

#include "tinyml_port.h"
#include "tinyml_store.h"

#define STORE_DATA ((uint8_t *)TM_STORE_HEADER_BYTES)

int port_store_load(uint8_t *data, uint16_t length)
{
    uint8_t header[TM_STORE_HEADER_BYTES];
    eeprom_read_block(header, (const void *)0, sizeof header);
    eeprom_read_block(data, STORE_DATA, length);
    return tm_store_intact(header, data, length) ? 0 : -1;
}

void port_store_save(const uint8_t *data, uint16_t length)
{
    uint8_t header[TM_STORE_HEADER_BYTES];
    tm_store_header(header, data, length);
    eeprom_update_block(data, STORE_DATA, length);
    eeprom_update_block(header, (void *)0, sizeof header);
}

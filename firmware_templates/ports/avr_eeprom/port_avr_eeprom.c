/* A record that survives power-off, in the AVR's EEPROM (the Mega's 4 KB): what the app keeps
 * with port_store_save(), such as its calibration. Layout at address 0: magic (u16), length
 * (u16), CRC-16/CCITT-FALSE of the data (u16), the data. eeprom_update_block() writes only the
 * bytes that change, so calibrating again wears the cells little. */
#include <avr/eeprom.h>
#include <stdint.h>

#include "tinyml_link.h"
#include "tinyml_port.h"

#define STORE_MAGIC 0x7443u /* "Ct" */
#define STORE_DATA ((uint8_t *)6)

int port_store_load(uint8_t *data, uint16_t length)
{
    uint16_t header[3];
    eeprom_read_block(header, (const void *)0, sizeof header);
    if (header[0] != STORE_MAGIC || header[1] != length) {
        return -1;
    }
    eeprom_read_block(data, STORE_DATA, length);
    return tm_crc16(data, length, 0xFFFFu) == header[2] ? 0 : -1;
}

void port_store_save(const uint8_t *data, uint16_t length)
{
    uint16_t header[3];
    header[0] = length == 0u ? 0xFFFFu : STORE_MAGIC; /* length 0: forget the record */
    header[1] = length;
    header[2] = tm_crc16(data, length, 0xFFFFu);
    eeprom_update_block(data, STORE_DATA, length);
    eeprom_update_block(header, (void *)0, sizeof header);
}

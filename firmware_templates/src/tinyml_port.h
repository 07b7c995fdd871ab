/* What a board port provides: one serial link, polled. Each port is one small file in ports/. */
#ifndef TINYML_PORT_H
#define TINYML_PORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void port_init(void);
/* The next received byte, or -1 when none is waiting. Never blocks. */
int port_read_byte(void);
/* Sends all bytes; may block until the UART has taken them. */
void port_write(const uint8_t *data, size_t length);
/* Nothing to do until the next byte: a port may sleep here (WFI) or simply return. */
void port_idle(void);

/* The deepest the stack has reached since reset, in bytes, for ports that paint it at start-up
 * (ports/cortexm); 0 where unknown (a weak default). */
uint32_t port_stack_peak(void);

#if defined(TINYML_STORE)
/* Boards with a store that survives power-off (ports/avr_eeprom): one record of `length` bytes.
 * load: 0 and the record, or -1 when none of that length is stored intact; save with length 0
 * forgets it. Without TINYML_STORE an app keeps such state in RAM only. */
int port_store_load(uint8_t *data, uint16_t length);
void port_store_save(const uint8_t *data, uint16_t length);
#endif

#ifdef __cplusplus
}
#endif

#endif

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

#ifdef __cplusplus
}
#endif

#endif

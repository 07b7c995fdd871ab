/* The device side of the tinyml protocol: answers requests that arrive on the port. */
#ifndef TINYML_DEVICE_H
#define TINYML_DEVICE_H

#ifdef __cplusplus
extern "C" {
#endif

void tinyml_device_init(void);
/* Handles every byte the port has waiting, then one step of live mode; call it from the
 * main loop. */
void tinyml_device_poll(void);

#ifdef __cplusplus
}
#endif

#endif

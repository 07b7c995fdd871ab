/* Port for Arm CMSDK APB UART (MPS2/MPS3 FPGA images, as emulated by QEMU). */
#include <stdint.h>

#include "tinyml_config.h"
#include "tinyml_port.h"

#define UART_DATA (*(volatile uint32_t *)(TINYML_UART_BASE + 0x00u))
#define UART_STATE (*(volatile uint32_t *)(TINYML_UART_BASE + 0x04u))
#define UART_CTRL (*(volatile uint32_t *)(TINYML_UART_BASE + 0x08u))
#define UART_BAUDDIV (*(volatile uint32_t *)(TINYML_UART_BASE + 0x10u))

#define STATE_TX_FULL 0x1u
#define STATE_RX_FULL 0x2u
#define CTRL_TX_EN 0x1u
#define CTRL_RX_EN 0x2u

void port_init(void)
{
    UART_BAUDDIV = (uint32_t)(TINYML_UART_CLOCK_HZ / TINYML_BAUD);
    UART_CTRL = CTRL_TX_EN | CTRL_RX_EN;
}

int port_read_byte(void)
{
    if ((UART_STATE & STATE_RX_FULL) == 0u) {
        return -1;
    }
    return (int)(UART_DATA & 0xFFu);
}

void port_write(const uint8_t *data, size_t length)
{
    size_t i;
    for (i = 0; i < length; ++i) {
        while ((UART_STATE & STATE_TX_FULL) != 0u) {
        }
        UART_DATA = data[i];
    }
}

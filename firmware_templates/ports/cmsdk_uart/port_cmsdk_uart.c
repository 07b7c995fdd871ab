/* Port for Arm CMSDK APB UART (MPS2/MPS3 FPGA images, as emulated by QEMU).
 *
 * port_idle() sleeps in WFI until the UART has a byte. The RX interrupt is enabled in the UART
 * and the NVIC but masked by PRIMASK, so it only wakes the core (no handler runs). Under QEMU a
 * core that spins on the status register keeps a host CPU busy; a sleeping one leaves it to
 * other emulators and to the host. */
#include <stdint.h>

#include "tinyml_config.h"
#include "tinyml_port.h"

#define UART_DATA (*(volatile uint32_t *)(TINYML_UART_BASE + 0x00u))
#define UART_STATE (*(volatile uint32_t *)(TINYML_UART_BASE + 0x04u))
#define UART_CTRL (*(volatile uint32_t *)(TINYML_UART_BASE + 0x08u))
#define UART_INTCLEAR (*(volatile uint32_t *)(TINYML_UART_BASE + 0x0Cu))
#define UART_BAUDDIV (*(volatile uint32_t *)(TINYML_UART_BASE + 0x10u))
#define NVIC_ISER(n) (*(volatile uint32_t *)(0xE000E100u + 4u * (n)))
#define NVIC_ICPR(n) (*(volatile uint32_t *)(0xE000E280u + 4u * (n)))
#define NVIC_WORDS 4u

#define STATE_TX_FULL 0x1u
#define STATE_RX_FULL 0x2u
#define CTRL_TX_EN 0x1u
#define CTRL_RX_EN 0x2u
#define CTRL_RX_INT_EN 0x8u
#define INT_RX 0x2u

void port_init(void)
{
    uint32_t i;
    __asm volatile("cpsid i" ::: "memory"); /* interrupts only wake the core from WFI */
    UART_BAUDDIV = (uint32_t)(TINYML_UART_CLOCK_HZ / TINYML_BAUD);
    UART_CTRL = CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_INT_EN;
    for (i = 0; i < NVIC_WORDS; ++i) {
        NVIC_ISER(i) = 0xFFFFFFFFu; /* the UART's line differs by board; only it is enabled */
    }
}

void port_idle(void)
{
    uint32_t i;
    UART_INTCLEAR = INT_RX;
    for (i = 0; i < NVIC_WORDS; ++i) {
        NVIC_ICPR(i) = 0xFFFFFFFFu;
    }
    if ((UART_STATE & STATE_RX_FULL) == 0u) {
        __asm volatile("wfi" ::: "memory"); /* a byte that arrived since the check is pending */
    }
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

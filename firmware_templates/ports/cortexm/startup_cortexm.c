/* Minimal Cortex-M start-up: vector table, .data/.bss set-up, FPU on, the stack painted, then
 * main(). */
#include <stdint.h>

#include "tinyml_port.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern int main(void);

void Reset_Handler(void);
void Default_Handler(void);

void Default_Handler(void)
{
    for (;;) {
    }
}

/* Every free RAM word between .bss and the stack pointer at reset holds this until the stack
 * reaches it: the deepest word that lost it is the stack's high-water mark. */
#define STACK_PAINT 0x5AA5C33Cu

uint32_t port_stack_peak(void)
{
    const uint32_t *word = &_ebss;
    while (word < &_estack && *word == STACK_PAINT) {
        ++word;
    }
    return (uint32_t)((uintptr_t)&_estack - (uintptr_t)word);
}

void Reset_Handler(void)
{
    uint32_t *src = &_sidata;
    uint32_t *dst = &_sdata;
    while (dst < &_edata) {
        *dst++ = *src++;
    }
    for (dst = &_sbss; dst < &_ebss; ++dst) {
        *dst = 0u;
    }
#if defined(__ARM_FP)
    /* Grant full access to CP10/CP11 (FPU, and MVE on Armv8.1-M) before any float code runs. */
    *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20);
    __asm volatile("dsb\n\tisb" ::: "memory");
#endif
    {
        uintptr_t sp;
        uint32_t *top;
        __asm volatile("mov %0, sp" : "=r"(sp));
        top = (uint32_t *)(sp - 64u); /* below what this function's own frame may still use */
        for (dst = &_ebss; dst < top; ++dst) {
            *dst = STACK_PAINT;
        }
    }
    (void)main();
    Default_Handler();
}

typedef void (*vector_t)(void);

__attribute__((section(".isr_vector"), used))
const vector_t vector_table[16] = {
    (vector_t)(uintptr_t)&_estack, /* initial stack pointer */
    Reset_Handler,
    Default_Handler, /* NMI */
    Default_Handler, /* HardFault */
    Default_Handler, /* MemManage */
    Default_Handler, /* BusFault */
    Default_Handler, /* UsageFault */
    Default_Handler, /* SecureFault (Armv8-M) */
    0, 0, 0,
    Default_Handler, /* SVCall */
    Default_Handler, /* DebugMonitor */
    0,
    Default_Handler, /* PendSV */
    Default_Handler, /* SysTick */
};
